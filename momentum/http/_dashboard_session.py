"""The dashboard's sign-in: an admin's token in a cookie, and a CSRF token derived from it.

The cookie holds the same signed token `/auth/login` issues (so a session expires after
`JWT_TTL` and works on every worker of `--workers N`, which share `JWT_SECRET`), marked
`HttpOnly` (page scripts cannot read it) and `SameSite=Strict` (other sites' pages do not
send it). Every request re-checks the token's user: a disabled or demoted admin is refused
at once, and a signed-out session's token is revoked like `/auth/logout`'s: the old cookie
is refused from then on. Every action also needs the header `X-CSRF-Token`, an HMAC of the
session token under `JWT_SECRET`: the page learns it from `GET /dashboard/api/session`, a
forged cross-site request cannot. docs/security.md has the design.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from quart import Response, request

from ..auth import AuthError, Claims, verify_user
from ..protocol import ErrorCode
from ..storage import StorageError, User
from ._common import store_unavailable
from ._errors import ApiError
from ._login import sign_in
from ._services import Services

COOKIE = "momentum_dashboard"
CSRF_HEADER = "X-CSRF-Token"
COOKIE_PATH = "/dashboard"


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in admin: the user (as the store has it now), the session's token and its
    claims (sign-out revokes the token by its id)."""

    user: User
    token: str
    claims: Claims

    def csrf(self, secret: str) -> str:
        return csrf_token(secret, self.token)


def csrf_token(secret: str, session_token: str) -> str:
    mac = hmac.new(
        secret.encode(), b"momentum-dashboard-csrf\x00" + session_token.encode(), "sha256"
    )
    return mac.hexdigest()


async def check_credentials(s: Services, handle: str, password: str) -> User:
    """The admin a username or email and password name; ApiError 401/403 otherwise."""
    user = await sign_in(s, handle, password)
    if not user.is_admin:
        raise ApiError(403, ErrorCode.FORBIDDEN, "the dashboard is for admins")
    return user


async def verify_session(s: Services, token: str | None) -> Session:
    """The session a cookie's token stands for; ApiError 401/403 when it stands for none."""
    if not token:
        raise ApiError(401, ErrorCode.TOKEN_MISSING, "sign in to the dashboard")
    try:
        user, claims = await verify_user(s.codec, token, s.store.get_user, s.revocations)
    except AuthError as exc:
        raise ApiError(exc.status, ErrorCode(exc.code), str(exc)) from None
    except StorageError:
        raise store_unavailable() from None
    if not user.is_admin:
        raise ApiError(403, ErrorCode.FORBIDDEN, "the dashboard is for admins")
    return Session(user, token, claims)


async def require_session(s: Services) -> Session:
    """The request's session (reading only: no CSRF token needed)."""
    return await verify_session(s, request.cookies.get(COOKIE))


async def require_action(s: Services) -> Session:
    """The request's session, for an action: a JSON body and the session's CSRF token."""
    session = await require_session(s)
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), session.csrf(s.settings.jwt_secret).encode()):
        raise ApiError(403, ErrorCode.FORBIDDEN, f"missing or wrong {CSRF_HEADER} header")
    require_json()
    return session


def require_json() -> None:
    """Refuse bodies a plain HTML form could send: a cross-site form cannot send JSON."""
    if request.mimetype != "application/json":
        raise ApiError(415, ErrorCode.BAD_REQUEST, "send Content-Type: application/json")


def set_session_cookie(response: Response, token: str, max_age: float) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(max_age),
        path=COOKIE_PATH,
        secure=_is_https(),
        httponly=True,
        samesite="Strict",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, secure=_is_https(), httponly=True, samesite="Strict"
    )


def _is_https() -> bool:
    """Secure cookies over HTTPS, including behind a proxy that says so."""
    forwarded = request.headers.get("X-Forwarded-Proto", "")
    return request.scheme == "https" or forwarded.lower() == "https"
