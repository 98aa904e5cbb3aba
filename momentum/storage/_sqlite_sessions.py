"""SQLite revocations and refresh tokens: the part of `SqliteStore` that keeps sessions.

Each method is one statement or a short sequence whose order is safe if it stops halfway
(a refresh token is revoked before the change that made it stale).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from ._session_types import RefreshToken, Revoked, SpentRefresh
from ._sqlite_messages import timestamp

T = TypeVar("T")

_REVOKE = (
    "INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
)
_END_SESSION = "UPDATE refresh_tokens SET revoked = 1 WHERE session_id = ?"
_REVOKE_SESSION = (
    "INSERT INTO revoked_sessions (session_id, user_id, expires_at) VALUES (?, ?, ?)"
    " ON CONFLICT (session_id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)"
)
_END_USER_SESSIONS = "UPDATE refresh_tokens SET revoked = 1 WHERE user_id = ?"
_SET_PASSWORD = "UPDATE users SET password_hash = ?, tokens_valid_after = ? WHERE id = ?"
_SAVE_REFRESH = (
    "INSERT INTO refresh_tokens (token_hash, user_id, session_id, expires_at) VALUES (?, ?, ?, ?)"
)
_SPEND = (
    "UPDATE refresh_tokens SET spent = 1"
    " WHERE token_hash = ? AND spent = 0 AND revoked = 0 AND expires_at > ?"
    " RETURNING user_id, session_id"
)
#: A spent token presented again: the whole session ends.
_SPEND_AGAIN = (
    "UPDATE refresh_tokens SET revoked = 1 WHERE session_id = ("
    "SELECT session_id FROM refresh_tokens"
    " WHERE token_hash = ? AND spent = 1 AND revoked = 0 AND expires_at > ?"
    ") RETURNING user_id, session_id"
)


_PURGE = (
    "DELETE FROM revoked_tokens WHERE expires_at <= ?",
    "DELETE FROM revoked_sessions WHERE expires_at <= ?",
    "DELETE FROM refresh_tokens WHERE expires_at <= ? OR revoked = 1",
)


class SqliteSessions:
    """Revocations and refresh tokens on the store's connection (`_run`)."""

    if TYPE_CHECKING:

        async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...

    async def revoke_token(self, jti: str, user_id: uuid.UUID, expires_at: datetime) -> None:
        args = (jti, str(user_id), timestamp(expires_at))
        await self._run(lambda conn: conn.execute(_REVOKE, args))

    async def revoke_session(
        self, session_id: str, user_id: uuid.UUID, expires_at: datetime
    ) -> None:
        args = (session_id, str(user_id), timestamp(expires_at))

        def revoke(conn: sqlite3.Connection) -> None:
            conn.execute(_END_SESSION, (session_id,))
            conn.execute(_REVOKE_SESSION, args)

        await self._run(revoke)

    async def set_password(
        self, user_id: uuid.UUID, password_hash: str, *, tokens_valid_after: datetime
    ) -> bool:
        args = (password_hash, timestamp(tokens_valid_after), str(user_id))

        def change(conn: sqlite3.Connection) -> bool:
            conn.execute(_END_USER_SESSIONS, (str(user_id),))
            return conn.execute(_SET_PASSWORD, args).rowcount == 1

        return await self._run(change)

    async def load_revoked(self, now: datetime) -> Revoked:
        def load(conn: sqlite3.Connection) -> Revoked:
            tokens = conn.execute(
                "SELECT jti, expires_at FROM revoked_tokens WHERE expires_at > ?",
                (timestamp(now),),
            ).fetchall()
            users = conn.execute(
                "SELECT id, tokens_valid_after FROM users WHERE tokens_valid_after IS NOT NULL"
            ).fetchall()
            sessions = conn.execute(
                "SELECT session_id, expires_at FROM revoked_sessions WHERE expires_at > ?",
                (timestamp(now),),
            ).fetchall()
            return Revoked(
                {jti: datetime.fromisoformat(at) for jti, at in tokens},
                {uuid.UUID(uid): datetime.fromisoformat(at) for uid, at in users},
                {sid: datetime.fromisoformat(at) for sid, at in sessions},
            )

        return await self._run(load)

    async def save_refresh_token(self, token: RefreshToken) -> None:
        args = (token.token_hash, str(token.user_id), token.session_id, timestamp(token.expires_at))
        await self._run(lambda conn: conn.execute(_SAVE_REFRESH, args))

    async def spend_refresh_token(self, token_hash: str, now: datetime) -> SpentRefresh | None:
        args = (token_hash, timestamp(now))

        def spend(conn: sqlite3.Connection) -> SpentRefresh | None:
            for sql, reused in ((_SPEND, False), (_SPEND_AGAIN, True)):
                rows = conn.execute(sql, args).fetchall()
                if rows:
                    return SpentRefresh(uuid.UUID(rows[0][0]), rows[0][1], reused)
            return None

        return await self._run(spend)

    async def purge_tokens(self, now: datetime) -> int:
        args = (timestamp(now),)
        return await self._run(lambda conn: sum(conn.execute(sql, args).rowcount for sql in _PURGE))
