"""`/users/*`: admin account management — disabling users, provisioning test users."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import trio
from quart import Blueprint, Response

from ..auth import PREFIX_PATTERN, TokenCodec, provisioned_users
from ..protocol import ErrorCode
from ..storage import StorageError, User, UserExists
from ._actions import set_user_flags
from ._auth import authenticate, require_admin
from ._common import field, json_body, services, store_unavailable, user_json, user_named
from ._errors import ApiError, json_response

blueprint = Blueprint("users", __name__)
log = logging.getLogger("momentum.http")

#: Most users one `POST /users/provision` creates (one transaction, one response body).
MAX_PROVISION = 10_000


@blueprint.patch("/users/<user_id>")
async def update_user(user_id: str) -> Response:
    """Admin: set `is_active` / `is_admin`; disabling closes the user's connections (4003)."""
    s = services()
    caller = await require_admin(s)
    try:
        uid = uuid.UUID(user_id)
    except ValueError:
        raise ApiError(400, ErrorCode.INVALID_UUID, "user id must be a UUID") from None
    body = await json_body()
    is_active = field(body, "is_active", bool, required=False)
    is_admin = field(body, "is_admin", bool, required=False)
    user, closed = await set_user_flags(
        s, uid, is_active=is_active, is_admin=is_admin, by=caller.name
    )
    return json_response({"user": user_json(user), "closed_connections": closed})


@blueprint.get("/users/by-name/<username>")
async def user_by_name(username: str) -> Response:
    """Any caller: a username's id (to address it); admins and the API key see the account."""
    s = services()
    caller = await authenticate(s)
    user = await user_named(s, username)
    if caller.is_admin:
        return json_response({"user": user_json(user)})
    return json_response({"user": {"id": str(user.id), "username": user.username}})


@blueprint.post("/users/provision")
async def provision() -> Response:
    """Admin: create `count` token-only users in one transaction and return their tokens.

    For load tests (`momentum stress --api-key`). The users cannot log in with a password;
    their tokens expire after `JWT_TTL` like any other.
    """
    s = services()
    await require_admin(s)
    body = await json_body()
    count = field(body, "count", int)
    prefix = field(body, "prefix", str, required=False) or "stress"
    if count is None or not 1 <= count <= MAX_PROVISION:
        raise ApiError(400, ErrorCode.BAD_REQUEST, f"count must be 1 to {MAX_PROVISION}")
    if not PREFIX_PATTERN.match(prefix):
        raise ApiError(400, ErrorCode.BAD_REQUEST, "prefix: 1-12 letters, digits, '_', '.', '-'")
    try:
        users = await s.store.create_users(provisioned_users(count, prefix))
    except UserExists as exc:
        raise ApiError(409, ErrorCode.CONFLICT, f"{exc.field} is already taken") from None
    except StorageError:
        raise store_unavailable() from None
    # Thousands of signatures would stall the event loop for a noticeable while.
    listed = await trio.to_thread.run_sync(_with_tokens, s.codec, users)
    return json_response({"users": listed, "count": len(listed)}, 201)


def _with_tokens(codec: TokenCodec, users: list[User]) -> list[dict[str, Any]]:
    return [
        {
            "id": str(user.id),
            "username": user.username,
            "token": codec.issue(user.id, user.email, user.username).token,
        }
        for user in users
    ]
