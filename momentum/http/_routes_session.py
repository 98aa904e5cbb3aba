"""`/auth/refresh`, `/auth/logout`, `/auth/password`: a login session after the login
(docs/api.md, "The auth lifecycle").

A login opens a session: a short-lived access token (`JWT_TTL`) carrying the session id
(`sid`), and a refresh token (`REFRESH_TTL`), spent once for the next pair. Revoking writes
the store first, then this process's `Revocations`, then tells the hub (open connections
close with 4001) and the other nodes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import trio
from quart import Blueprint, Response

from ..auth import (
    HashQueueFull,
    Priority,
    WeakPassword,
    new_refresh_token,
    refresh_token_hash,
)
from ..protocol import ErrorCode
from ..storage import RefreshToken, StorageError, User
from ._auth import authenticate
from ._common import field, json_body, services, store_unavailable, user_json
from ._errors import ApiError, json_response
from ._revoke import announce_revoked, revoke_access_token
from ._services import Services
from ._throttling import client_address, hashing_busy, throttled

blueprint = Blueprint("session", __name__)


async def open_session(s: Services, user: User, session: str | None = None) -> dict[str, Any]:
    """A fresh access token and refresh token for `user`, in `session` or a new one."""
    session = session or uuid.uuid4().hex
    issued = s.codec.issue(user.id, user.email, user.username, session=session)
    refresh = new_refresh_token()
    refresh_expires = datetime.now(UTC) + timedelta(seconds=s.settings.refresh_ttl)
    stored = RefreshToken(refresh_token_hash(refresh), user.id, session, refresh_expires)
    try:
        await s.store.save_refresh_token(stored)
    except StorageError:
        raise store_unavailable() from None
    return {
        "token": issued.token,
        "expires_at": issued.expires_at.isoformat(),
        "refresh_token": refresh,
        "refresh_expires_at": refresh_expires.isoformat(),
        "user": user_json(user),
    }


@blueprint.post("/auth/refresh")
async def refresh() -> Response:
    """A refresh token for the next access and refresh tokens; each is spent once."""
    s = services()
    token = field(await json_body(), "refresh_token", str) or ""
    try:
        spent = await s.store.spend_refresh_token(refresh_token_hash(token), datetime.now(UTC))
        user = await s.store.get_user(spent.user_id) if spent is not None else None
    except StorageError:
        raise store_unavailable() from None
    if spent is None or user is None:
        raise ApiError(401, ErrorCode.TOKEN_INVALID, "unknown, expired or revoked refresh token")
    if spent.reused:  # a replay: the store ended the session's refresh tokens
        await _end_session(s, spent.user_id, spent.session_id)
        message = "this refresh token was used before: its session is ended, log in again"
        raise ApiError(401, ErrorCode.TOKEN_REVOKED, message)
    if not user.is_active:
        raise ApiError(403, ErrorCode.USER_DISABLED, "this user is disabled")
    return json_response(await open_session(s, user, spent.session_id))


@blueprint.post("/auth/logout")
async def logout() -> Response:
    """Revoke the presented access token until it expires, and end its session."""
    s = services()
    principal = await authenticate(s)
    user, claims = principal.user, principal.claims
    if user is None or claims is None:
        raise ApiError(400, ErrorCode.BAD_REQUEST, "log out with the user's token, not an API key")
    if claims.session is not None:
        await _end_session(s, user.id, claims.session)
    await revoke_access_token(s, user.id, claims)
    return Response(b"", status=204)


@blueprint.post("/auth/password")
async def change_password() -> Response:
    """Check the current password, set the new one, revoke every earlier token of the user;
    answer with a fresh session."""
    s = services()
    principal = await authenticate(s)
    user = principal.user
    if user is None:
        raise ApiError(400, ErrorCode.BAD_REQUEST, "change a password with the user's token")
    body = await json_body()
    current = field(body, "current_password", str) or ""
    new = field(body, "new_password", str) or ""
    address, account = client_address(s.settings), str(user.id)
    wait = s.throttles.take_login(address, account, trio.current_time())
    if wait:
        raise throttled(wait, "password attempts")
    try:
        if not await s.hasher.verify(user.password_hash, current):
            raise ApiError(401, ErrorCode.INVALID_CREDENTIALS, "the current password is wrong")
        s.throttles.give_back_login(address, account, trio.current_time())
        password_hash = await s.hasher.hash(new, priority=Priority.LOGIN)
    except WeakPassword as exc:
        raise ApiError(400, ErrorCode.BAD_REQUEST, f"new_password: {exc}") from None
    except HashQueueFull:
        raise hashing_busy() from None
    valid_from_ms = s.codec.issued_ms()  # tokens issued from now on are valid
    valid_from = datetime.fromtimestamp(valid_from_ms / 1000, UTC)
    try:
        if not await s.store.set_password(user.id, password_hash, tokens_valid_after=valid_from):
            raise ApiError(404, ErrorCode.NOT_FOUND, "no such user")
    except StorageError:
        raise store_unavailable() from None
    s.revocations.revoke_before(user.id, valid_from_ms)
    await announce_revoked(s, {"user_id": str(user.id), "before_ms": valid_from_ms})
    return json_response(await open_session(s, user))


async def _end_session(s: Services, user_id: uuid.UUID, session: str) -> None:
    """Revoke every token of the session: its refresh tokens, and its access tokens until
    the last one issued (now at the latest) has expired."""
    exp = s.codec.now() + s.codec.ttl + s.codec.leeway
    try:
        await s.store.revoke_session(session, user_id, datetime.fromtimestamp(exp, UTC))
    except StorageError:
        raise store_unavailable() from None
    s.revocations.revoke_session(session, exp)
    await announce_revoked(s, {"user_id": str(user_id), "session": session, "exp": exp})
