"""Who is calling: a user (JWT), an admin user, or the application backend (X-API-Key)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from quart import request

from ..auth import AuthError, Claims, verify_user
from ..protocol import ErrorCode
from ..storage import StorageError, User
from ._errors import ApiError
from ._services import Services


@dataclass(frozen=True, slots=True)
class Principal:
    user: User | None  # None: the application backend, authenticated by API key
    claims: Claims | None = None  # the user's token

    @property
    def is_admin(self) -> bool:
        return self.user is None or self.user.is_admin


async def authenticate(services: Services) -> Principal:
    """The caller, from `X-API-Key` or `Authorization: Bearer`; ApiError 401/403 otherwise."""
    api_key = request.headers.get("X-API-Key")
    if api_key is not None:
        expected = services.settings.api_key
        if expected and hmac.compare_digest(api_key.encode(), expected.encode()):
            return Principal(None)
        raise ApiError(401, ErrorCode.TOKEN_INVALID, "invalid API key")
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401, ErrorCode.TOKEN_MISSING, "send Authorization: Bearer <token> or X-API-Key"
        )
    try:
        user, claims = await verify_user(
            services.codec, token.strip(), services.store.get_user, services.revocations
        )
    except AuthError as exc:
        raise ApiError(exc.status, ErrorCode(exc.code), str(exc)) from None
    except StorageError:
        services.metrics.storage_errors.inc()
        raise ApiError(503, ErrorCode.UNAVAILABLE, "the database is unavailable") from None
    return Principal(user, claims)


async def require_admin(services: Services) -> Principal:
    principal = await authenticate(services)
    if not principal.is_admin:
        raise ApiError(403, ErrorCode.FORBIDDEN, "this endpoint is for admins and the API key")
    return principal
