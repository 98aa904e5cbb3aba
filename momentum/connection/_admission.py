"""Who may open a WebSocket: token, user, Origin. Limits are the hub's call."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..auth import (
    AuthError,
    Claims,
    Revocations,
    TokenCodec,
    UserLookup,
    extract_token,
    verify_user,
)
from ..hub import Refused
from ..protocol import ErrorCode
from ..storage import StorageError, User

log = logging.getLogger("momentum.admission")


@dataclass(frozen=True, slots=True)
class Admitted:
    user: User
    claims: Claims
    subprotocol: str | None


class Gatekeeper:
    """Checks one handshake's credentials and Origin against the tokens and the users.

    `lookup` finds a user by id (through the lookup actor, which batches lookups); it raises
    `StorageError` when it cannot answer. `revocations` are the tokens revoked (logout,
    password change).
    """

    def __init__(
        self,
        codec: TokenCodec,
        lookup: UserLookup,
        *,
        allowed_origins: frozenset[str] | None,
        revocations: Revocations | None = None,
    ) -> None:
        self._codec = codec
        self._lookup = lookup
        self._allowed_origins = allowed_origins
        self._revocations = Revocations() if revocations is None else revocations

    async def admit(self, target: str, headers: list[tuple[bytes, bytes]]) -> Admitted | Refused:
        refusal = self.check_origin(headers)
        if refusal is not None:
            return refusal
        query = urlsplit(target).query
        token, subprotocol = extract_token(query, headers)
        if token is None:
            return Refused(401, ErrorCode.TOKEN_MISSING, "a token is required")
        return await self.check_token(token, subprotocol)

    async def check_token(self, token: str, subprotocol: str | None = None) -> Admitted | Refused:
        """The handshake's token check (signature, claims, revocation, the user), also used
        for a token handed over on a live connection (`auth`)."""
        try:
            user, claims = await verify_user(self._codec, token, self._lookup, self._revocations)
        except AuthError as exc:
            return Refused(exc.status, ErrorCode(exc.code), str(exc))
        except StorageError as exc:
            log.warning("user lookup failed while checking a token: %s", exc)
            return Refused(503, ErrorCode.UNAVAILABLE, "the database is unavailable")
        return Admitted(user, claims, subprotocol)

    def revoked(self, claims: Claims) -> bool:
        """Whether the token was revoked since it was checked (a handshake in flight)."""
        return self._revocations.is_revoked(claims)

    def check_origin(self, headers: list[tuple[bytes, bytes]]) -> Refused | None:
        origin = host = None
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"origin":
                origin = value.decode("latin-1").strip()
            elif lowered == b"host":
                host = value.decode("latin-1").strip()
        if origin is None or origin_allowed(origin, host, self._allowed_origins):
            return None
        return Refused(403, ErrorCode.FORBIDDEN_ORIGIN, f"origin {origin!r} is not allowed")


def origin_allowed(origin: str, host: str | None, allowed: frozenset[str] | None) -> bool:
    """An explicit list (or `*`) if configured; otherwise the Origin must name this host."""
    if allowed is not None:
        return "*" in allowed or origin.rstrip("/") in allowed
    netloc = urlsplit(origin).netloc
    return host is not None and netloc.lower() == host.lower()
