"""`/ws/*`: the HTTP endpoints beside the WebSocket (docs/api.md)."""

from __future__ import annotations

import uuid

from quart import Blueprint, Response, request

from ..hub import DEFAULT_PAGE, MAX_PAGE
from ..protocol import API_TYPES, ErrorCode, MessageType
from ._actions import publish_message, run_cleanup, validate_message
from ._auth import authenticate, require_admin
from ._cluster import online_page, statistics
from ._common import int_arg, json_body, services
from ._errors import ApiError, error_response, json_response

blueprint = Blueprint("ws", __name__)


@blueprint.get("/ws")
async def websocket_without_upgrade() -> Response:
    return error_response(
        426, ErrorCode.BAD_REQUEST, "this is the WebSocket endpoint: send an upgrade"
    )


@blueprint.get("/ws/online")
async def online() -> Response:
    s = services()
    principal = await authenticate(s)
    visibility = s.settings.online_visibility
    if (visibility == "admin" and not principal.is_admin) or (
        visibility == "api_key" and principal.user is not None
    ):
        who = "admins" if visibility == "admin" else "the API key"
        raise ApiError(403, ErrorCode.FORBIDDEN, f"who is online is shown to {who} only")
    limit = int_arg("limit", DEFAULT_PAGE, 1, MAX_PAGE)
    page = await online_page(s, _cursor(), limit)
    listed = [
        {
            "id": str(u.user_id),
            "username": u.username,
            "connections": u.connections,
            "connected_since": u.connected_since,
        }
        for u in page.users
    ]
    cursor = None if page.next is None else str(page.next)
    return json_response({"users": listed, "count": page.total, "next": cursor})


def _cursor() -> uuid.UUID | None:
    """`?cursor=`: the `next` of the previous page (a user id)."""
    raw = request.args.get("cursor")
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ApiError(400, ErrorCode.BAD_REQUEST, "cursor must be the next of a page") from None


@blueprint.get("/ws/stats")
async def stats() -> Response:
    s = services()
    await authenticate(s)
    return json_response(await statistics(s))


@blueprint.post("/ws/send")
async def send() -> Response:
    s = services()
    principal = await authenticate(s)
    body = await json_body()
    body.setdefault("message_type", MessageType.TEXT.value)
    sender = principal.user.id if principal.user else None
    allowed = API_TYPES if principal.user is None else API_TYPES - {MessageType.SYSTEM_MESSAGE}
    inbound = validate_message(body, sender, allowed)
    if inbound.to_user_id is None:
        raise ApiError(400, ErrorCode.BAD_REQUEST, "to_user_id is required (use /ws/broadcast)")
    delivery = await publish_message(s, inbound, sender)
    answer = {"id": inbound.id, "delivered": delivery.delivered, "stored": delivery.stored}
    if inbound.client_id is not None:
        answer["ref_id"] = inbound.client_id
    return json_response(answer)


@blueprint.post("/ws/broadcast")
async def broadcast() -> Response:
    s = services()
    principal = await require_admin(s)
    body = await json_body()
    body.setdefault("message_type", MessageType.SYSTEM_MESSAGE.value)
    sender = principal.user.id if principal.user else None
    inbound = validate_message(body, sender, API_TYPES)
    if inbound.to_user_id is not None:
        raise ApiError(400, ErrorCode.BAD_REQUEST, "a broadcast has no to_user_id (use /ws/send)")
    delivery = await publish_message(s, inbound, sender)
    return json_response({"id": inbound.id, "recipients": delivery.delivered})


@blueprint.post("/ws/cleanup")
async def cleanup() -> Response:
    s = services()
    caller = await require_admin(s)
    removed = await run_cleanup(s, by=caller.name)  # `removed` counts this node
    return json_response({"removed": removed})
