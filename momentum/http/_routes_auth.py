"""`/auth/*`: registering accounts and logging in (docs/api.md)."""

from __future__ import annotations

import re
import unicodedata

import trio
from quart import Blueprint, Response

from ..auth import HashQueueFull, InvalidField, WeakPassword, new_account
from ..protocol import ErrorCode
from ..storage import NewUser, StorageError, UserExists
from ._auth import authenticate
from ._common import field, json_body, services, store_unavailable, user_json
from ._errors import ApiError, json_response
from ._routes_session import open_session
from ._throttling import client_address, hashing_busy, throttled

blueprint = Blueprint("auth", __name__)

#: Control characters: never part of a login handle (a NUL would reach the database).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@blueprint.post("/auth/register")
async def register() -> Response:
    s = services()
    body = await json_body()
    wait = s.throttles.take_register(client_address(s.settings), trio.current_time())
    if wait:
        raise throttled(wait, "sign-ups from this address")
    try:
        email, username, password = new_account(
            field(body, "email", str) or "",
            field(body, "username", str) or "",
            field(body, "password", str) or "",
        )
        password_hash = await s.hasher.hash(password)
    except (InvalidField, WeakPassword) as exc:
        raise ApiError(400, ErrorCode.BAD_REQUEST, str(exc)) from None
    except HashQueueFull:
        raise hashing_busy() from None
    try:
        user = await s.store.create_user(NewUser(email, username, password_hash))
    except UserExists as exc:
        raise ApiError(409, ErrorCode.CONFLICT, f"{exc.field} is already taken") from None
    except StorageError:
        raise store_unavailable() from None
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
    if _CONTROL.search(handle):
        raise ApiError(400, ErrorCode.BAD_REQUEST, "email or username has a control character")
    try:
        # NFC, as emails are stored: a decomposed "é" names the same account.
        user = await s.store.find_user(unicodedata.normalize("NFC", handle.strip()))
    except StorageError:
        raise store_unavailable() from None
    address, account = client_address(s.settings), str(user.id) if user else handle
    wait = s.throttles.take_login(address, account, trio.current_time())
    if wait:
        raise throttled(wait, "login attempts")
    try:
        matched = await s.hasher.verify(user.password_hash if user else None, password)
    except HashQueueFull:
        s.throttles.give_back_login(address, account, trio.current_time())
        raise hashing_busy() from None
    if user is None or not matched:
        raise ApiError(401, ErrorCode.INVALID_CREDENTIALS, "wrong email/username or password")
    s.throttles.give_back_login(address, account, trio.current_time())
    if not user.is_active:
        raise ApiError(403, ErrorCode.USER_DISABLED, "this user is disabled")
    return json_response(await open_session(s, user))


@blueprint.get("/auth/me")
async def me() -> Response:
    """The user the token belongs to (the API key is no user: 403)."""
    caller = await authenticate(services())
    if caller.user is None:
        raise ApiError(403, ErrorCode.FORBIDDEN, "the API key is not a user: send a user's token")
    return json_response({"user": user_json(caller.user)})
