"""SQLite backend: stdlib sqlite3 behind one dedicated worker thread.

One connection, used only through `trio.to_thread.run_sync` with a
`CapacityLimiter(1)`: calls are serialized (SQLite has one writer anyway) and
never block the Trio loop. Worker calls are not abandoned on cancellation, so
a transaction always finishes (commit or rollback) before the caller unwinds.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

import trio

from . import _sqlite_messages as sql_messages
from . import _sqlite_pending as sql_pending
from ._admission import (
    RecipientLimits,
    SaveRefusal,
)
from ._errors import StorageError, UniqueField, UserExists
from ._migrations import load_migrations
from ._sqlite_accounts import SqliteAccounts
from ._sqlite_accounts import fetch_user as _fetch_user
from ._sqlite_accounts import user_from_row as _row_user
from ._sqlite_rooms import SqliteRooms
from ._sqlite_save import SaveBatch, ack_statements, execute_atomically, save_and_ack
from ._sqlite_sessions import SqliteSessions
from ._sqlite_transaction import transaction as _transaction
from ._types import (
    MAX_CONVERSATION_LIMIT,
    USER_COLUMNS,
    NewMessage,
    NewUser,
    StoredMessage,
    User,
    check_limit,
    email_key,
    history_cursor,
    user_from_new,
    username_key,
)

DUPLICATE = SaveRefusal.DUPLICATE_ID

#: Ids in one `IN (...)` list, under SQLite's 32766 parameters.
_IDS_PER_QUERY = 30000

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5_000

_COLUMNS = USER_COLUMNS
_INSERT = (
    "INSERT INTO users (id, email, username, username_key, password_hash,"
    " is_active, is_admin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SCHEMA_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL)"
)


def sqlite_path(url: str) -> str:
    """`sqlite:///rel/path.db` → `rel/path.db`; `sqlite:////abs.db` → `/abs.db`."""
    path = url.removeprefix("sqlite:///")
    if path == url or not path:
        raise ValueError(f"invalid SQLite URL {url!r}: expected sqlite:///path/to/file.db")
    return path


class SqliteStore(SqliteAccounts, SqliteSessions, SqliteRooms):
    """`Store` on one SQLite connection; see the module docstring."""

    backend = "sqlite"

    def __init__(self, conn: sqlite3.Connection, migrations_applied: tuple[int, ...]) -> None:
        self._conn = conn
        self._limiter = trio.CapacityLimiter(1)
        self.migrations_applied = migrations_applied

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            try:
                return fn(self._conn)
            except sqlite3.IntegrityError as exc:
                raise _user_exists(exc) from exc
            except (sqlite3.Error, OSError) as exc:
                raise StorageError(f"sqlite: {exc}") from exc

        return await trio.to_thread.run_sync(call, limiter=self._limiter)

    async def create_user(self, new: NewUser) -> User:
        users = await self.create_users([new])
        return users[0]

    async def create_users(self, new: Sequence[NewUser]) -> list[User]:
        users = [user_from_new(n) for n in new]
        rows = [_row(u) for u in users]

        def insert(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.executemany(_INSERT, rows)

        if rows:
            await self._run(insert)
        return users

    async def get_user(self, user_id: uuid.UUID) -> User | None:
        sql = f"SELECT {_COLUMNS} FROM users WHERE id = ?"
        return await self._run(lambda c: _fetch_user(c, sql, (str(user_id),)))

    async def get_users(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
        keys = list(dict.fromkeys(str(u) for u in user_ids))
        statements = [
            (
                f"SELECT {_COLUMNS} FROM users WHERE id IN ({', '.join(['?'] * len(chunk))})",
                chunk,
            )
            for chunk in (keys[i : i + _IDS_PER_QUERY] for i in range(0, len(keys), _IDS_PER_QUERY))
        ]

        def fetch(conn: sqlite3.Connection) -> dict[uuid.UUID, User]:
            users = [_row_user(row) for sql, args in statements for row in conn.execute(sql, args)]
            return {user.id: user for user in users}

        return await self._run(fetch) if statements else {}

    async def find_user(self, login: str) -> User | None:
        # An email match wins over a username that happens to look like an email.
        sql = (
            f"SELECT {_COLUMNS} FROM users WHERE email = ? OR username_key = ?"
            " ORDER BY email = ? DESC LIMIT 1"
        )
        email = email_key(login)
        args = (email, username_key(login), email)
        return await self._run(lambda c: _fetch_user(c, sql, args))

    async def set_user_flags(
        self,
        user_id: uuid.UUID,
        *,
        is_active: bool | None = None,
        is_admin: bool | None = None,
    ) -> User | None:
        sql = (
            "UPDATE users SET is_active = coalesce(?, is_active),"
            f" is_admin = coalesce(?, is_admin) WHERE id = ? RETURNING {_COLUMNS}"
        )
        args = (is_active, is_admin, str(user_id))
        return await self._run(lambda c: _fetch_user(c, sql, args))

    async def count_users(self) -> int:
        return await self._run(lambda c: int(c.execute("SELECT count(*) FROM users").fetchone()[0]))

    async def schema_version(self) -> int:
        sql = "SELECT coalesce(max(version), 0) FROM schema_migrations"
        return await self._run(lambda c: int(c.execute(sql).fetchone()[0]))

    async def check(self) -> None:
        await self._run(lambda c: c.execute("SELECT 1").fetchone())

    async def save_messages(
        self, messages: Sequence[NewMessage], *, limits: RecipientLimits | None = None
    ) -> dict[NewMessage, SaveRefusal]:
        batch = SaveBatch(messages, limits)
        return await self._run(batch.save) if batch.rows else {}

    async def save_and_ack(
        self,
        messages: Sequence[NewMessage],
        acks: Mapping[uuid.UUID, Sequence[str]],
        *,
        limits: RecipientLimits | None = None,
    ) -> dict[NewMessage, SaveRefusal]:
        batch = SaveBatch(messages, limits)
        statements = ack_statements(datetime.now(UTC), acks)
        if not statements:
            return await self.save_messages(messages, limits=limits)
        return await self._run(partial(save_and_ack, batch, statements))

    async def pending_messages(
        self, recipient_id: uuid.UUID, *, after_seq: int = 0, limit: int = 500
    ) -> list[StoredMessage]:
        check_limit(limit)
        now = sql_messages.timestamp(datetime.now(UTC))
        args = (str(recipient_id), after_seq, now, limit)
        return await self._run(lambda c: sql_messages.fetch(c, sql_messages.PENDING, args))

    async def pending_counts(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        keys = list(dict.fromkeys(str(u) for u in user_ids))
        return await self._run(partial(sql_pending.pending_counts, keys=keys)) if keys else {}

    async def ack_messages(self, acks: Mapping[uuid.UUID, Sequence[str]]) -> int:
        statements = ack_statements(datetime.now(UTC), acks)
        return await self._run(partial(execute_atomically, statements)) if statements else 0

    async def purge_messages(self, *, now: datetime, retain_until: datetime) -> int:
        expired = (sql_messages.timestamp(now),)
        old = (sql_messages.timestamp(retain_until),)

        def purge(conn: sqlite3.Connection) -> int:
            with _transaction(conn):
                count = conn.execute(sql_messages.PURGE_EXPIRED, expired).rowcount
                return count + conn.execute(sql_messages.PURGE_ACKED, old).rowcount

        return await self._run(purge)

    async def conversation(
        self,
        user_id: uuid.UUID,
        other_id: uuid.UUID,
        *,
        before: datetime | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> list[StoredMessage]:
        check_limit(limit, MAX_CONVERSATION_LIMIT)
        bound, seq = history_cursor(before, before_seq)
        args = {
            "a": str(user_id),
            "b": str(other_id),
            "before": sql_messages.timestamp(bound),
            "seq": seq,
            "limit": limit,
        }
        return await self._run(lambda c: sql_messages.fetch(c, sql_messages.CONVERSATION, args))

    async def count_pending(self, recipient_id: uuid.UUID | None = None) -> int:
        now = sql_messages.timestamp(datetime.now(UTC))
        args: tuple[str, ...]
        if recipient_id is None:
            sql, args = sql_messages.COUNT_PENDING, (now,)
        else:
            sql, args = sql_messages.COUNT_PENDING_FOR, (str(recipient_id), now)
        return await self._run(lambda c: int(c.execute(sql, args).fetchone()[0]))

    async def aclose(self) -> None:
        """Close the connection once any call in flight has finished."""
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(self._conn.close, limiter=self._limiter)


@asynccontextmanager
async def open_sqlite_store(url: str) -> AsyncIterator[SqliteStore]:
    """Open (creating if needed) the database file and bring its schema up to date."""
    path = sqlite_path(url)
    try:
        conn, applied = await trio.to_thread.run_sync(_connect_and_migrate, path)
    except (sqlite3.Error, OSError) as exc:
        raise StorageError(f"sqlite: cannot open {path!r}: {exc}") from exc
    store = SqliteStore(conn, applied)
    try:
        yield store
    finally:
        await store.aclose()


def _connect_and_migrate(path: str) -> tuple[sqlite3.Connection, tuple[int, ...]]:
    # isolation_level=None: autocommit, with explicit BEGIN IMMEDIATE where a
    # transaction spans statements (sqlite3's implicit transactions are too magic).
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn, _migrate(conn)
    except BaseException:
        conn.close()
        raise


def _migrate(conn: sqlite3.Connection) -> tuple[int, ...]:
    applied: list[int] = []
    with _transaction(conn):
        conn.execute(_SCHEMA_MIGRATIONS)
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for migration in load_migrations("sqlite"):
            if migration.version in done:
                continue
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                (migration.version, datetime.now(UTC).isoformat()),
            )
            applied.append(migration.version)
    return tuple(applied)


def _statements(script: str) -> list[str]:
    """Split a script into statements (executescript would commit our transaction)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    leftover = [ln for ln in pending.splitlines() if ln.strip() and not ln.strip().startswith("--")]
    if leftover:
        raise ValueError(f"incomplete SQL statement in migration: {leftover[0]!r}")
    return statements


def _user_exists(exc: sqlite3.IntegrityError) -> Exception:
    message = str(exc)
    field: UniqueField | None = None
    if "users.email" in message:
        field = "email"
    elif "users.username_key" in message:
        field = "username"
    if field is None:
        return StorageError(f"sqlite: {exc}")
    return UserExists(field)


def _row(user: User) -> tuple[object, ...]:
    return (
        str(user.id),
        user.email,
        user.username,
        username_key(user.username),
        user.password_hash,
        user.is_active,
        user.is_admin,
        user.created_at.isoformat(),
    )
