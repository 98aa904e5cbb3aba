"""The one check of a bearer token: signature and claims, then the user it names."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from ..storage import User
from ._errors import TokenRevoked, UserDisabled, UserUnknown
from ._revocations import Revocations
from ._tokens import Claims, TokenCodec

#: Finds a user by id; raises `StorageError` when it cannot answer.
UserLookup = Callable[[uuid.UUID], Awaitable[User | None]]


async def verify_user(
    codec: TokenCodec, token: str, lookup: UserLookup, revocations: Revocations | None = None
) -> tuple[User, Claims]:
    """The token's user and claims. Raises an `AuthError` (invalid, expired or revoked token,
    unknown or disabled user) or, when the user cannot be looked up, the lookup's
    `StorageError`.

    The WebSocket handshake and the HTTP API both call this, so a token means the same at
    both doors.
    """
    claims = codec.verify(token)
    if revocations is not None and revocations.is_revoked(claims):
        raise TokenRevoked("this token was revoked: log in again")
    user = await lookup(claims.sub)
    if user is None:
        raise UserUnknown("the token's user does not exist")
    if not user.is_active:
        raise UserDisabled("this user is disabled")
    return user, claims
