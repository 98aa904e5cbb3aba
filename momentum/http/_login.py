"""Password sign-in: a username or email and a password → the active account.

One check for `POST /auth/login` and the dashboard's sign-in, so both refuse the same way
and share the same throttles (per account and per client address, docs/security.md).
"""

from __future__ import annotations

import re
import unicodedata

import trio

from ..auth import HashQueueFull
from ..protocol import ErrorCode
from ..storage import StorageError, User
from ._common import store_unavailable
from ._errors import ApiError
from ._services import Services
from ._throttling import client_address, hashing_busy, throttled

#: Control characters: never part of a login handle (a NUL would reach the database).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


async def sign_in(s: Services, handle: str, password: str) -> User:
    """The active account `handle` names, if `password` is its own; ApiError otherwise
    (400, 401, 403, 429 past the throttles, 503 while the hashing queue is full)."""
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
    return user
