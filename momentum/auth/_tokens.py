"""HS256 JWTs: issue and verify against an injectable wall clock.

The algorithm is pinned to HS256 on both sides, so `alg: none` and algorithm
confusion (RS256 public key used as an HMAC secret, HS384, …) are rejected.
pyjwt's own time checks read the system clock, so they are switched off and
`exp`/`iat`/`nbf` are checked here against `now()`; tests move that clock
instead of sleeping.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from ._errors import TokenExpired, TokenInvalid, TokenMissing
from ._grants import ACCESS_TYPE, RoomGrant, verify_room_grant

SECONDS = 1.0
DEFAULT_TTL = 3600 * SECONDS
DEFAULT_LEEWAY = 30 * SECONDS
#: RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_BYTES = 32
ALGORITHM = "HS256"

_DECODE_OPTIONS: Any = {
    "require": ["exp", "iat", "sub"],
    "verify_signature": True,
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
    "verify_aud": False,
    "verify_iss": False,
}


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: datetime
    jti: str
    #: its `iat` in epoch milliseconds (as `Claims.issued_ms` reads it back)
    issued_ms: int = 0


@dataclass(frozen=True, slots=True)
class Claims:
    sub: uuid.UUID
    email: str | None
    username: str | None
    exp: int
    iat: int
    #: the token's id: its `jti`, or for a token without one a digest of the token itself
    jti: str
    #: `iat` in milliseconds (tokens are issued with a millisecond `iat`)
    issued_ms: int = 0
    #: the login session a token belongs to (`sid`; refresh tokens renew it), if any
    session: str | None = None


def _wall_clock() -> float:
    return datetime.now(UTC).timestamp()


class TokenCodec:
    """Issues and verifies Momentum's access tokens.

    `secret` must be at least 32 bytes (UTF-8): shorter HMAC keys are weak and
    pyjwt warns on every use. `now` returns wall-clock epoch seconds.
    """

    def __init__(
        self,
        secret: str,
        *,
        ttl: float = DEFAULT_TTL,
        leeway: float = DEFAULT_LEEWAY,
        now: Callable[[], float] | None = None,
    ) -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"JWT secret must be at least {MIN_SECRET_BYTES} bytes long")
        if ttl <= 0 or leeway < 0:
            raise ValueError("JWT ttl must be positive and leeway not negative")
        self._secret = secret
        self.ttl = ttl
        self.leeway = leeway
        self._now = now or _wall_clock

    def now(self) -> float:
        """The wall clock this codec checks `exp` and `iat` against (epoch seconds)."""
        return self._now()

    def issued_ms(self) -> int:
        """The `iat` a token issued now gets, in epoch milliseconds."""
        return round(round(self._now(), 3) * 1000)

    def issue(
        self, user_id: uuid.UUID, email: str, username: str, *, session: str | None = None
    ) -> IssuedToken:
        """A token for the user; `iat` has milliseconds, so a token issued right after a
        password change is told from the ones it revoked."""
        now = self._now()
        exp = int(now) + max(1, int(self.ttl))
        iat = round(now, 3)  # `issued_ms` rounds the same way: a later token is never earlier
        jti = uuid.uuid4().hex
        claims: dict[str, object] = {
            "sub": str(user_id),
            "email": email,
            "username": username,
            "exp": exp,
            "iat": iat,
            "jti": jti,
            "typ": ACCESS_TYPE,
        }
        if session is not None:
            claims["sid"] = session
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return IssuedToken(token, datetime.fromtimestamp(exp, UTC), jti, round(iat * 1000))

    def verify(self, token: str | None) -> Claims:
        """Return the token's claims; raise `TokenMissing`, `TokenInvalid` or `TokenExpired`."""
        if not token:
            raise TokenMissing("no token presented")
        try:
            payload = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options=_DECODE_OPTIONS
            )
        except jwt.InvalidTokenError as exc:
            raise TokenInvalid(f"invalid token: {exc}") from exc
        if payload.get("typ", ACCESS_TYPE) != ACCESS_TYPE:  # a room grant is no access token
            raise TokenInvalid("invalid token: not an access token (typ)")
        claims = _claims(payload, token)
        now = self._now()
        if now >= claims.exp + self.leeway:
            raise TokenExpired("token expired")
        if claims.iat > now + self.leeway:
            raise TokenInvalid("invalid token: issued in the future")
        nbf = payload.get("nbf")
        if nbf is not None and (not _is_number(nbf) or nbf > now + self.leeway):
            raise TokenInvalid("invalid token: not yet valid")
        return claims

    def verify_room_grant(self, token: object) -> RoomGrant:
        """A room grant's claims (see `_grants`), checked against this codec's secret,
        clock and leeway; `TokenInvalid` or `TokenExpired`."""
        return verify_room_grant(self._secret, token, now=self._now, leeway=self.leeway)


def _claims(payload: Mapping[str, Any], token: str) -> Claims:
    try:
        sub = uuid.UUID(payload["sub"])
    except (TypeError, ValueError, AttributeError) as exc:
        raise TokenInvalid("invalid token: sub is not a user id") from exc
    exp, iat = payload["exp"], payload["iat"]
    if not (_is_number(exp) and _is_number(iat)):
        raise TokenInvalid("invalid token: exp and iat must be numbers")
    email, username, jti = payload.get("email"), payload.get("username"), payload.get("jti")
    session = payload.get("sid")
    if not all(v is None or isinstance(v, str) for v in (email, username, jti, session)):
        raise TokenInvalid("invalid token: email, username, jti and sid must be strings")
    return Claims(
        sub=sub,
        email=email,
        username=username,
        exp=int(exp),
        iat=int(iat),
        jti=jti or hashlib.sha256(token.encode()).hexdigest()[:32],
        issued_ms=round(iat * 1000),
        session=session,
    )


#: The last second of year 9999: a NumericDate past it is not a date (and 10**400 would not
#: even convert to a float).
_LAST_DATE = 253_402_300_799


def _is_number(value: object) -> bool:
    """A JSON NumericDate: an int or finite float between 0 and the year 9999 (json.loads
    accepts Infinity, NaN and integers of any size)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return 0 <= value <= _LAST_DATE
