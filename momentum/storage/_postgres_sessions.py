"""PostgreSQL revocations and refresh tokens: the part of `PostgresStore` that keeps
sessions (the statements, run through the store's `_call`).

Each method is one statement or a short sequence whose order is safe if it stops halfway
(a refresh token is revoked before the change that made it stale).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ._session_types import RefreshToken, Revoked, SpentRefresh
from ._types import utc

T = TypeVar("T")

_REVOKE = (
    "INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3)"
    " ON CONFLICT DO NOTHING"
)
_END_SESSION = "UPDATE refresh_tokens SET revoked = true WHERE session_id = $1"
_REVOKE_SESSION = (
    "INSERT INTO revoked_sessions (session_id, user_id, expires_at) VALUES ($1, $2, $3)"
    " ON CONFLICT (session_id) DO UPDATE"
    " SET expires_at = greatest(revoked_sessions.expires_at, excluded.expires_at)"
)
_END_USER_SESSIONS = "UPDATE refresh_tokens SET revoked = true WHERE user_id = $1"
_SET_PASSWORD = "UPDATE users SET password_hash = $1, tokens_valid_after = $2 WHERE id = $3"
_SAVE_REFRESH = (
    "INSERT INTO refresh_tokens (token_hash, user_id, session_id, expires_at)"
    " VALUES ($1, $2, $3, $4)"
)
_SPEND = (
    "UPDATE refresh_tokens SET spent = true"
    " WHERE token_hash = $1 AND NOT spent AND NOT revoked AND expires_at > $2"
    " RETURNING user_id, session_id"
)
#: A spent token presented again: the whole session ends.
_SPEND_AGAIN = (
    "UPDATE refresh_tokens SET revoked = true WHERE session_id = ("
    "SELECT session_id FROM refresh_tokens"
    " WHERE token_hash = $1 AND spent AND NOT revoked AND expires_at > $2"
    ") RETURNING user_id, session_id"
)
_PURGE = (
    "DELETE FROM revoked_tokens WHERE expires_at <= $1",
    "DELETE FROM revoked_sessions WHERE expires_at <= $1",
    "DELETE FROM refresh_tokens WHERE expires_at <= $1 OR revoked",
)
_REVOKED_TOKENS = "SELECT jti, expires_at FROM revoked_tokens WHERE expires_at > $1"
_REVOKED_SESSIONS = "SELECT session_id, expires_at FROM revoked_sessions WHERE expires_at > $1"
_REVOKED_USERS = "SELECT id, tokens_valid_after FROM users WHERE tokens_valid_after IS NOT NULL"


class PostgresSessions:
    """Revocations and refresh tokens on the store's pool (`_call`)."""

    if TYPE_CHECKING:

        async def _call(self, fn: Callable[..., Awaitable[T]], *args: object) -> T: ...

    async def revoke_token(self, jti: str, user_id: uuid.UUID, expires_at: datetime) -> None:
        await self._call(_aio_execute, _REVOKE, jti, user_id, utc(expires_at))

    async def revoke_session(
        self, session_id: str, user_id: uuid.UUID, expires_at: datetime
    ) -> None:
        await self._call(_aio_execute, _END_SESSION, session_id)
        await self._call(_aio_execute, _REVOKE_SESSION, session_id, user_id, utc(expires_at))

    async def set_password(
        self, user_id: uuid.UUID, password_hash: str, *, tokens_valid_after: datetime
    ) -> bool:
        await self._call(_aio_execute, _END_USER_SESSIONS, user_id)
        status = await self._call(
            _aio_execute, _SET_PASSWORD, password_hash, utc(tokens_valid_after), user_id
        )
        return status == "UPDATE 1"

    async def load_revoked(self, now: datetime) -> Revoked:
        tokens = await self._call(_aio_fetch, _REVOKED_TOKENS, utc(now))
        users = await self._call(_aio_fetch, _REVOKED_USERS)
        sessions = await self._call(_aio_fetch, _REVOKED_SESSIONS, utc(now))
        return Revoked(
            {row["jti"]: row["expires_at"].astimezone(UTC) for row in tokens},
            {_uuid(row["id"]): row["tokens_valid_after"].astimezone(UTC) for row in users},
            {row["session_id"]: row["expires_at"].astimezone(UTC) for row in sessions},
        )

    async def save_refresh_token(self, token: RefreshToken) -> None:
        await self._call(
            _aio_execute,
            _SAVE_REFRESH,
            token.token_hash,
            token.user_id,
            token.session_id,
            utc(token.expires_at),
        )

    async def spend_refresh_token(self, token_hash: str, now: datetime) -> SpentRefresh | None:
        for sql, reused in ((_SPEND, False), (_SPEND_AGAIN, True)):
            rows = await self._call(_aio_fetch, sql, token_hash, utc(now))
            if rows:
                return SpentRefresh(_uuid(rows[0]["user_id"]), rows[0]["session_id"], reused)
        return None

    async def purge_tokens(self, now: datetime) -> int:
        statuses = [await self._call(_aio_execute, sql, utc(now)) for sql in _PURGE]
        return sum(int(status.rsplit(" ", 1)[1]) for status in statuses)


def _uuid(value: Any) -> uuid.UUID:
    """asyncpg's own UUID type, as the standard one."""
    return uuid.UUID(int=value.int)


async def _aio_execute(pool: Any, sql: str, *args: object) -> str:
    status: str = await pool.execute(sql, *args)
    return status


async def _aio_fetch(pool: Any, sql: str, *args: object) -> list[Any]:
    return list(await pool.fetch(sql, *args))
