"""Account administration on PostgreSQL (`momentum users list | set-password | delete`),
mixed into `PostgresStore`, and the one reading of a `users` row."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import TYPE_CHECKING, Any, TypeVar

from ._types import USER_COLUMNS, User, check_limit, username_key

T = TypeVar("T")

_LIST = f"SELECT {USER_COLUMNS} FROM users WHERE username_key > $1 ORDER BY username_key LIMIT $2"


class PostgresAccounts:
    """`Store.list_users` and `delete_user` for `PostgresStore`."""

    if TYPE_CHECKING:

        async def _call(self, fn: Callable[..., Awaitable[T]], *args: object) -> T: ...

    async def list_users(self, *, after: str = "", limit: int = 100) -> list[User]:
        check_limit(limit)
        rows = await self._call(_aio_fetch, _LIST, username_key(after), limit)
        return [user for user in map(user_from_row, rows) if user is not None]

    async def delete_user(self, user_id: uuid.UUID) -> bool:
        status = await self._call(_aio_execute, "DELETE FROM users WHERE id = $1", user_id)
        return status == "DELETE 1"


async def _aio_fetch(pool: Any, sql: str, *args: object) -> list[Any]:
    return list(await pool.fetch(sql, *args))


async def _aio_fetchrow(pool: Any, sql: str, *args: object) -> Any:
    return await pool.fetchrow(sql, *args)


async def _aio_execute(pool: Any, sql: str, *args: object) -> str:
    status: str = await pool.execute(sql, *args)
    return status


def user_from_row(row: Any) -> User | None:
    """The `User` in an asyncpg row of `USER_COLUMNS`, or None for no row."""
    if row is None:
        return None
    return User(
        id=uuid.UUID(int=row["id"].int),
        email=row["email"],
        username=row["username"],
        password_hash=row["password_hash"],
        is_active=row["is_active"],
        is_admin=row["is_admin"],
        created_at=row["created_at"].astimezone(UTC),
    )
