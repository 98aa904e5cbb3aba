"""Room grants: JWTs an application backend signs to let one user into private rooms.

A grant is signed with the server's `JWT_SECRET` (HS256, like access tokens) and carries
`typ: "room_grant"`, its user (`sub`), the room ids it opens (`rooms`) and an `exp`.
Access tokens carry `typ: "access"` (or, issued before grants existed, no `typ`), so one
kind is never taken for the other: `TokenCodec.verify` refuses a grant, and
`verify_room_grant` refuses an access token.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from ._errors import TokenExpired, TokenInvalid

ALGORITHM = "HS256"
#: The `typ` claim of each kind of token.
ACCESS_TYPE = "access"
GRANT_TYPE = "room_grant"
#: Room ids one grant may name.
MAX_GRANT_ROOMS = 1024

_GRANT_OPTIONS: Any = {
    "require": ["exp", "sub", "typ"],
    "verify_signature": True,
    "verify_exp": False,  # checked against the codec's clock below
    "verify_iat": False,
    "verify_nbf": False,
    "verify_aud": False,
    "verify_iss": False,
}


@dataclass(frozen=True, slots=True)
class RoomGrant:
    """What a valid grant allows: `user_id` into `room_ids` until `expires_at` (epoch s)."""

    user_id: uuid.UUID
    room_ids: frozenset[uuid.UUID]
    expires_at: float


def sign_room_grant(
    secret: str, user_id: uuid.UUID, room_ids: Iterable[uuid.UUID], expires_at: int
) -> str:
    """A grant, as a backend signs one (the server itself never needs to; tests and tools do)."""
    claims = {
        "typ": GRANT_TYPE,
        "sub": str(user_id),
        "rooms": [str(room_id) for room_id in room_ids],
        "exp": expires_at,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_room_grant(
    secret: str, token: object, *, now: Callable[[], float], leeway: float
) -> RoomGrant:
    """The grant's claims; `TokenInvalid` (not a grant, bad signature, malformed claims) or
    `TokenExpired`."""
    if not isinstance(token, str) or not token:
        raise TokenInvalid("a grant is a JWT string")
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM], options=_GRANT_OPTIONS)
    except jwt.InvalidTokenError as exc:
        raise TokenInvalid(str(exc)) from exc
    if payload["typ"] != GRANT_TYPE:
        raise TokenInvalid("not a room grant (its typ)")
    grant = _grant(payload)
    if now() >= grant.expires_at + leeway:
        raise TokenExpired("the grant has expired")
    return grant


def _grant(payload: dict[str, Any]) -> RoomGrant:
    exp, rooms = payload["exp"], payload.get("rooms")
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not 0 <= exp < 2**53:
        raise TokenInvalid("exp is not a date")
    if not isinstance(rooms, list) or not 0 < len(rooms) <= MAX_GRANT_ROOMS:
        raise TokenInvalid(f"rooms is a list of 1 to {MAX_GRANT_ROOMS} room ids")
    try:
        user_id = uuid.UUID(payload["sub"])
        room_ids = frozenset(uuid.UUID(room_id) for room_id in rooms)
    except (TypeError, ValueError, AttributeError):
        raise TokenInvalid("sub and rooms hold UUID strings") from None
    return RoomGrant(user_id, room_ids, float(exp))
