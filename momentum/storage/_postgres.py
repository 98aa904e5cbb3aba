"""PostgreSQL backend: asyncpg inside trio-asyncio.

Every asyncio call of the storage layer lives in this module and in
`_postgres_sessions.py` (its sessions half): the `_aio_*` functions run on the
asyncio side and are called only through `trio_asyncio.aio_as_trio`. The
process runs one trio-asyncio loop; this module opens it only when none is
running yet, and the store remembers the loop so it can be used from any Trio
task.

Reconnection: asyncpg's pool replaces closed connections on acquire. A call
that fails because its connection was lost (server restart, terminated
backend) expires the pool's connections and is retried once. A retried write
whose first attempt did commit could report a spurious `UserExists`; that
window (commit acknowledged by the server, reply lost) is accepted. Retrying
`save_messages` is harmless (a stored id is skipped); a retried ack or purge
may under-report what the lost first attempt changed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import asyncpg
import trio
import trio_asyncio

from . import _postgres_messages as sql_messages
from ._admission import RecipientLimits, SaveRefusal
from ._errors import StorageError, UniqueField, UserExists
from ._migrations import Migration, load_migrations
from ._postgres_accounts import PostgresAccounts, _aio_fetch, _aio_fetchrow
from ._postgres_accounts import user_from_row as _user
from ._postgres_pending import aio_save_messages
from ._postgres_rooms import PostgresRooms
from ._postgres_sessions import PostgresSessions
from ._types import (
    MAX_CONVERSATION_LIMIT,
    USER_COLUMNS,
    NewMessage,
    NewUser,
    StoredMessage,
    User,
    ack_ids,
    check_limit,
    email_key,
    history_cursor,
    user_from_new,
    username_key,
    utc,
)

T = TypeVar("T")

SECONDS = 1.0
CONNECT_TIMEOUT = 5 * SECONDS
COMMAND_TIMEOUT = 10 * SECONDS
CLOSE_TIMEOUT = 5 * SECONDS
POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 10
#: pg_advisory_xact_lock key serializing migrations of concurrent processes.
MIGRATION_LOCK_KEY = 0x6D6F6D656E74756D  # "momentum"

_COLUMNS = USER_COLUMNS
_INSERT = (
    "INSERT INTO users (id, email, username, username_key, password_hash,"
    " is_active, is_admin, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)
_SCHEMA_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer NOT NULL PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
)
_FIELDS: dict[str, UniqueField] = {
    "users_email_key": "email",
    "users_username_key": "username",
}
_CONNECTION_LOST: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    # What asyncpg raises when a query races the server's FATAL on a
    # terminated backend ("cannot switch to state …").
    asyncpg.InternalClientError,
    ConnectionError,
)
_FAILED: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)
_CONNECT_FAILED: tuple[type[BaseException], ...] = (*_FAILED, ValueError)

_Pool = Any  # asyncpg ships no type information


class PostgresStore(PostgresAccounts, PostgresSessions, PostgresRooms):
    """`Store` on an asyncpg pool; see the module docstring."""

    backend = "postgresql"

    def __init__(self, pool: _Pool, loop: Any, migrations_applied: tuple[int, ...]) -> None:
        self._pool = pool
        self._loop = loop
        self.migrations_applied = migrations_applied

    async def _call(self, fn: Callable[..., Awaitable[T]], *args: object) -> T:
        """Run `fn(pool, *args)` on the asyncio side; translate errors; retry once."""
        for attempt in (1, 2):
            try:
                result: T = await trio_asyncio.aio_as_trio(fn, loop=self._loop)(self._pool, *args)
                return result
            except asyncpg.UniqueViolationError as exc:
                raise _user_exists(exc) from exc
            except _CONNECTION_LOST as exc:
                if attempt == 2:
                    raise StorageError(f"postgresql: connection lost: {exc}") from exc
                await trio_asyncio.aio_as_trio(self._pool.expire_connections, loop=self._loop)()
            except _FAILED as exc:
                raise StorageError(f"postgresql: {type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")

    async def create_user(self, new: NewUser) -> User:
        users = await self.create_users([new])
        return users[0]

    async def create_users(self, new: Sequence[NewUser]) -> list[User]:
        users = [user_from_new(n) for n in new]
        if users:
            await self._call(_aio_insert_many, [_row(u) for u in users])
        return users

    async def get_user(self, user_id: uuid.UUID) -> User | None:
        sql = f"SELECT {_COLUMNS} FROM users WHERE id = $1"
        return _user(await self._call(_aio_fetchrow, sql, user_id))

    async def get_users(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
        if not user_ids:
            return {}
        sql = f"SELECT {_COLUMNS} FROM users WHERE id = ANY($1::uuid[])"
        rows = await self._call(_aio_fetch, sql, list(dict.fromkeys(user_ids)))
        users = [_user(row) for row in rows]
        return {user.id: user for user in users if user is not None}

    async def pending_counts(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        if not user_ids:
            return {}
        rows = await self._call(_aio_fetch, sql_messages.PENDING_COUNTS, list(set(user_ids)))
        return {row["recipient_id"]: row["count"] for row in rows}

    async def find_user(self, login: str) -> User | None:
        # An email match wins over a username that happens to look like an email.
        sql = (
            f"SELECT {_COLUMNS} FROM users WHERE email = $1 OR username_key = $2"
            " ORDER BY email = $1 DESC LIMIT 1"
        )
        return _user(await self._call(_aio_fetchrow, sql, email_key(login), username_key(login)))

    async def set_user_flags(
        self,
        user_id: uuid.UUID,
        *,
        is_active: bool | None = None,
        is_admin: bool | None = None,
    ) -> User | None:
        sql = (
            "UPDATE users SET is_active = coalesce($1, is_active),"
            f" is_admin = coalesce($2, is_admin) WHERE id = $3 RETURNING {_COLUMNS}"
        )
        return _user(await self._call(_aio_fetchrow, sql, is_active, is_admin, user_id))

    async def count_users(self) -> int:
        return int(await self._call(_aio_fetchval, "SELECT count(*) FROM users"))

    async def schema_version(self) -> int:
        sql = "SELECT coalesce(max(version), 0) FROM schema_migrations"
        return int(await self._call(_aio_fetchval, sql))

    async def check(self) -> None:
        await self._call(_aio_fetchval, "SELECT 1")

    async def save_messages(
        self, messages: Sequence[NewMessage], *, limits: RecipientLimits | None = None
    ) -> dict[NewMessage, SaveRefusal]:
        if not messages:
            return {}
        sql_messages.insert_arrays(messages)  # a malformed message raises before any SQL
        return await self._call(aio_save_messages, messages, limits)

    async def pending_messages(
        self, recipient_id: uuid.UUID, *, after_seq: int = 0, limit: int = 500
    ) -> list[StoredMessage]:
        check_limit(limit)
        args = (recipient_id, after_seq, datetime.now(UTC), limit)
        rows = await self._call(_aio_fetch, sql_messages.PENDING, *args)
        return [sql_messages.stored(row) for row in rows]

    async def save_and_ack(
        self,
        messages: Sequence[NewMessage],
        acks: Mapping[uuid.UUID, Sequence[str]],
        *,
        limits: RecipientLimits | None = None,
    ) -> dict[NewMessage, SaveRefusal]:
        args = _ack_args(acks)
        if not args:
            return await self.save_messages(messages, limits=limits)
        if messages:
            sql_messages.insert_arrays(messages)  # a malformed message raises before any SQL
        return await self._call(aio_save_messages, messages, limits, args)

    async def ack_messages(self, acks: Mapping[uuid.UUID, Sequence[str]]) -> int:
        args = _ack_args(acks)
        if not args:
            return 0
        # Under the messages lock: one statement acks for many recipients, and its trigger
        # updates their totals, which a concurrent save must not take in another order.
        lock = (sql_messages.LOCK, (sql_messages.MESSAGES_LOCK_KEY,))
        statuses = await self._call(_aio_transaction, [lock, (sql_messages.ACK, args)])
        return sql_messages.row_count(statuses[-1])

    async def purge_messages(self, *, now: datetime, retain_until: datetime) -> int:
        # Under the messages lock: see migration 0005 (the totals' triggers).
        lock = (sql_messages.LOCK, (sql_messages.MESSAGES_LOCK_KEY,))
        expired = (sql_messages.PURGE_EXPIRED, (utc(now),))
        old = (sql_messages.PURGE_ACKED, (utc(retain_until),))
        statuses = await self._call(_aio_transaction, [lock, expired, old])
        return sum(sql_messages.row_count(status) for status in statuses[1:])

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
        args = (user_id, other_id, bound, seq, limit)
        rows = await self._call(_aio_fetch, sql_messages.CONVERSATION, *args)
        return [sql_messages.stored(row) for row in rows]

    async def count_pending(self, recipient_id: uuid.UUID | None = None) -> int:
        now = datetime.now(UTC)
        if recipient_id is None:
            count = await self._call(_aio_fetchval, sql_messages.COUNT_PENDING, now)
        else:
            sql = sql_messages.COUNT_PENDING_FOR
            count = await self._call(_aio_fetchval, sql, now, recipient_id)
        return int(count)


@asynccontextmanager
async def open_postgres_store(url: str) -> AsyncIterator[PostgresStore]:
    """Connect a pool to `url` (postgresql:// or postgres://) and migrate the schema.

    Runs on the current trio-asyncio loop, or opens one for the store's lifetime.
    """
    loop = trio_asyncio.current_loop.get()
    if loop is not None:
        async with _open_pool_store(url, loop) as store:
            yield store
        return
    try:
        async with trio_asyncio.open_loop() as loop, _open_pool_store(url, loop) as store:
            yield store
    except BaseExceptionGroup as group:
        # open_loop's nursery wraps whatever crosses it; callers expect our own
        # vocabulary (and their own exceptions) back unwrapped.
        _raise_single(group)


@asynccontextmanager
async def _open_pool_store(url: str, loop: Any) -> AsyncIterator[PostgresStore]:
    try:
        pool = await trio_asyncio.aio_as_trio(_aio_create_pool, loop=loop)(url)
    except _CONNECT_FAILED as exc:
        raise StorageError(f"postgresql: cannot connect: {type(exc).__name__}: {exc}") from exc
    try:
        store = PostgresStore(pool, loop, ())
        migrations = load_migrations("postgresql")
        store.migrations_applied = tuple(await store._call(_aio_migrate, migrations))
        yield store
    finally:
        await _close_pool(pool, loop)


def _raise_single(group: BaseExceptionGroup[BaseException]) -> NoReturn:
    """Re-raise the only exception of a (nested) group, keeping its cause and context."""
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if exc is group:
        raise group
    context, cause, suppress = exc.__context__, exc.__cause__, exc.__suppress_context__
    try:
        raise exc
    finally:
        exc.__context__, exc.__cause__, exc.__suppress_context__ = context, cause, suppress
        del exc


async def _close_pool(pool: _Pool, loop: Any) -> None:
    with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT) as scope:
        await trio_asyncio.aio_as_trio(pool.close, loop=loop)()
    if scope.cancelled_caught:
        pool.terminate()


# --- asyncio side -----------------------------------------------------------


async def _aio_create_pool(url: str) -> _Pool:
    return await asyncpg.create_pool(
        url,
        min_size=POOL_MIN_SIZE,
        max_size=POOL_MAX_SIZE,
        timeout=CONNECT_TIMEOUT,
        command_timeout=COMMAND_TIMEOUT,
    )


async def _aio_fetchval(pool: _Pool, sql: str, *args: object) -> Any:
    return await pool.fetchval(sql, *args)


def _ack_args(acks: Mapping[uuid.UUID, Sequence[str]]) -> tuple[object, ...]:
    """`ACK`'s parameters for `acks` (each recipient's acked ids); () if none is valid."""
    pairs = [(m, r) for r, ids in acks.items() for m in ack_ids(ids)]
    if not pairs:
        return ()
    return (datetime.now(UTC), [m for m, _ in pairs], [r for _, r in pairs])


async def _aio_transaction(
    pool: _Pool, statements: Sequence[tuple[str, Sequence[object]]]
) -> list[str]:
    """Execute the statements in one transaction; their command tags."""
    async with pool.acquire() as conn, conn.transaction():
        return [await conn.execute(sql, *args) for sql, args in statements]


async def _aio_insert_many(pool: _Pool, rows: list[tuple[object, ...]]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(_INSERT, rows)


async def _aio_migrate(pool: _Pool, migrations: list[Migration]) -> list[int]:
    applied: list[int] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        await conn.execute(_SCHEMA_MIGRATIONS)
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in migrations:
            if migration.version not in done:
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)", migration.version
                )
                applied.append(migration.version)
    return applied


# --- rows -------------------------------------------------------------------


def _user_exists(exc: Any) -> Exception:
    field = _FIELDS.get(getattr(exc, "constraint_name", None) or "")
    if field is None:
        return StorageError(f"postgresql: {exc}")
    return UserExists(field)


def _row(user: User) -> tuple[object, ...]:
    return (
        user.id,
        user.email,
        user.username,
        username_key(user.username),
        user.password_hash,
        user.is_active,
        user.is_admin,
        user.created_at,
    )
