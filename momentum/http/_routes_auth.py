"""`/auth/*`: registering accounts and logging in (docs/api.md)."""

from __future__ import annotations

import re

import trio
from quart import Blueprint, Response

from ..auth import HashQueueFull, WeakPassword
from ..protocol import ErrorCode
from ..storage import NewUser, StorageError, UserExists
from ._common import field, json_body, services, store_unavailable, user_json
from ._errors import ApiError, json_response
from ._routes_session import open_session
from ._throttling import client_address, hashing_busy, throttled

blueprint = Blueprint("auth", __name__)

_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
#: Control characters: never part of an email or a username (a NUL would reach the database).
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_CONTROL = re.compile(f"[{_CONTROLS}]")
_PART = rf"[^@\s{_CONTROLS}]"
_EMAIL = re.compile(rf"^{_PART}{{1,64}}@{_PART}{{1,189}}\.{_PART}{{1,63}}$")


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
    wait = s.throttles.take_register(client_address(s.settings), trio.current_time())
    if wait:
        raise throttled(wait, "sign-ups from this address")
    try:
        password_hash = await s.hasher.hash(password)
    except WeakPassword as exc:
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
        user = await s.store.find_user(handle.strip())
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
