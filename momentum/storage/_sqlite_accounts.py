"""Account administration on SQLite (`momentum users list | set-password | delete`), mixed
into `SqliteStore`, and the one reading of a `users` row."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ._types import USER_COLUMNS, User, check_limit, username_key

T = TypeVar("T")

_LIST = f"SELECT {USER_COLUMNS} FROM users WHERE username_key > ? ORDER BY username_key LIMIT ?"


class SqliteAccounts:
    """`Store.list_users` and `delete_user` for `SqliteStore`."""

    if TYPE_CHECKING:

        async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...

    async def list_users(self, *, after: str = "", limit: int = 100) -> list[User]:
        check_limit(limit)
        args = (username_key(after), limit)
        return await self._run(lambda c: [user_from_row(row) for row in c.execute(_LIST, args)])

    async def delete_user(self, user_id: uuid.UUID) -> bool:
        sql = "DELETE FROM users WHERE id = ?"
        return await self._run(lambda c: c.execute(sql, (str(user_id),)).rowcount == 1)


def fetch_user(conn: sqlite3.Connection, sql: str, args: tuple[object, ...]) -> User | None:
    """The user the statement's first row holds, or None."""
    row = conn.execute(sql, args).fetchone()
    return None if row is None else user_from_row(row)


def user_from_row(row: tuple[Any, ...]) -> User:
    """The `User` in a row of `USER_COLUMNS`."""
    return User(
        id=uuid.UUID(row[0]),
        email=row[1],
        username=row[2],
        password_hash=row[3],
        is_active=bool(row[4]),
        is_admin=bool(row[5]),
        created_at=datetime.fromisoformat(row[6]),
    )
