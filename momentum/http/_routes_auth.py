"""`/auth/*` and `/users/*`: accounts, login, and disabling users (SPEC §4)."""

from __future__ import annotations

import re
import uuid

from quart import Blueprint, Response

from actors import ActorError

from ..auth import WeakPassword
from ..core import CloseUser
from ..protocol import CloseCode, ErrorCode
from ..storage import NewUser, StorageError, UserExists
from ._auth import require_admin
from ._common import actor_unavailable, field, json_body, services, user_json
from ._errors import ApiError, json_response
from ._services import ACTOR_CALL_TIMEOUT

blueprint = Blueprint("auth", __name__)

_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}$")


@blueprint.post("/auth/register")
async def register() -> Response:
    s = services()
    body = await json_body()
    email = (field(body, "email", str) or "").strip()
    username = (field(body, "username", str) or "").strip()
    password = field(body, "password", str) or ""
    if not _EMAIL.match(email):
        raise ApiError(400, ErrorCode.BAD_REQUEST, "email is not a valid address")
    if not _USERNAME.match(username):
        raise ApiError(400, ErrorCode.BAD_REQUEST, "username: 3-32 letters, digits, '_', '.', '-'")
    try:
        password_hash = await s.hasher.hash(password)
    except WeakPassword as exc:
        raise ApiError(400, ErrorCode.BAD_REQUEST, str(exc)) from None
    try:
        user = await s.store.create_user(NewUser(email, username, password_hash))
    except UserExists as exc:
        raise ApiError(409, ErrorCode.CONFLICT, f"{exc.field} is already taken") from None
    except StorageError:
        raise _store_down() from None
    return json_response({"user": user_json(user)}, 201)


@blueprint.post("/auth/login")
async def login() -> Response:
    s = services()
    body = await json_body()
    handle = field(body, "email", str, required=False) or field(
        body, "username", str, required=False
    )
    handle = handle or field(body, "login", str, required=False)
    password = field(body, "password", str) or ""
    if not handle:
        raise ApiError(400, ErrorCode.BAD_REQUEST, "email or username is required")
    try:
        user = await s.store.find_user(handle.strip())
    except StorageError:
        raise _store_down() from None
    matched = await s.hasher.verify(user.password_hash if user else None, password)
    if user is None or not matched:
        raise ApiError(401, ErrorCode.INVALID_CREDENTIALS, "wrong email/username or password")
    if not user.is_active:
        raise ApiError(403, ErrorCode.USER_DISABLED, "this user is disabled")
    issued = s.codec.issue(user.id, user.email, user.username)
    return json_response(
        {
            "token": issued.token,
            "expires_at": issued.expires_at.isoformat(),
            "user": user_json(user),
        }
    )


@blueprint.patch("/users/<user_id>")
async def update_user(user_id: str) -> Response:
    """Admin: set `is_active` / `is_admin`; disabling closes the user's connections (4003)."""
    s = services()
    await require_admin(s)
    try:
        uid = uuid.UUID(user_id)
    except ValueError:
        raise ApiError(400, ErrorCode.INVALID_UUID, "user id must be a UUID") from None
    body = await json_body()
    is_active = field(body, "is_active", bool, required=False)
    is_admin = field(body, "is_admin", bool, required=False)
    try:
        user = await s.store.set_user_flags(uid, is_active=is_active, is_admin=is_admin)
    except StorageError:
        raise _store_down() from None
    if user is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such user")
    closed = 0
    if is_active is False:
        try:
            closed = await s.hub.call(
                lambda reply: CloseUser(uid, CloseCode.USER_DISABLED, "user disabled", reply),
                timeout=ACTOR_CALL_TIMEOUT,
            )
        except ActorError as exc:
            raise actor_unavailable(exc) from None
    return json_response({"user": user_json(user), "closed_connections": closed})


def _store_down() -> ApiError:
    services().metrics.storage_errors.inc()
    return ApiError(503, ErrorCode.UNAVAILABLE, "the user store is unavailable")
