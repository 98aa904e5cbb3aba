"""The revoked tokens one process knows: checked on every authenticated request and
handshake, so it is a pair of dicts in memory, never a query.

It is filled from the store at start (`load`) and kept current by events: this process's
logouts and password changes, and the other nodes' through the cluster's control channel.
Every method is synchronous, so no check interleaves with an update.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from ..storage import Revoked
from ._tokens import Claims

#: Entries before the first sweep of expired ones; the threshold then doubles with the size.
_FIRST_SWEEP = 1024


class Revocations:
    """Revoked token ids and sessions (until their expiry plus `leeway`), and per user the
    time before which every token is revoked (a password change), in epoch milliseconds."""

    __slots__ = ("_leeway", "_next_sweep", "_now", "_sessions", "_tokens", "_users")

    def __init__(self, *, leeway: float = 0.0, now: Callable[[], float] | None = None) -> None:
        self._leeway = leeway
        self._now = now or (lambda: datetime.now(UTC).timestamp())  # the tokens' wall clock
        self._tokens: dict[str, float] = {}  # jti: exp (epoch seconds)
        self._sessions: dict[str, float] = {}  # sid: when its last access token expires
        self._users: dict[uuid.UUID, int] = {}  # user: tokens valid from (epoch ms)
        self._next_sweep = _FIRST_SWEEP

    def __len__(self) -> int:
        return len(self._tokens) + len(self._sessions) + len(self._users)

    def load(self, revoked: Revoked) -> None:
        """Add what the store holds (at start)."""
        for jti, expires_at in revoked.tokens.items():
            self.revoke(jti, expires_at.timestamp())
        for session, expires_at in revoked.sessions.items():
            self.revoke_session(session, expires_at.timestamp())
        for user_id, valid_after in revoked.users.items():
            self.revoke_before(user_id, _ms(valid_after))

    def revoke(self, jti: str, exp: float) -> None:
        """Token `jti`, valid until `exp` (epoch seconds), is revoked."""
        self._tokens[jti] = max(exp, self._tokens.get(jti, exp))
        self._grew()

    def revoke_session(self, session: str, exp: float) -> None:
        """Every token of session `session` is revoked; the last expires at `exp`."""
        self._sessions[session] = max(exp, self._sessions.get(session, exp))
        self._grew()

    def revoke_before(self, user_id: uuid.UUID, valid_from_ms: int) -> None:
        """Every token of the user issued before `valid_from_ms` (epoch ms) is revoked."""
        self._users[user_id] = max(valid_from_ms, self._users.get(user_id, valid_from_ms))

    def is_revoked(self, claims: Claims) -> bool:
        if claims.jti in self._tokens or claims.session in self._sessions:
            return True
        valid_from = self._users.get(claims.sub)
        return valid_from is not None and claims.issued_ms < valid_from

    def _grew(self) -> None:
        if len(self._tokens) + len(self._sessions) >= self._next_sweep:
            now = self._now()
            self._tokens = {k: exp for k, exp in self._tokens.items() if exp + self._leeway > now}
            self._sessions = {
                k: exp for k, exp in self._sessions.items() if exp + self._leeway > now
            }
            self._next_sweep = max(_FIRST_SWEEP, 2 * (len(self._tokens) + len(self._sessions)))


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)
