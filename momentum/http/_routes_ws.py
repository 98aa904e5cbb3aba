"""`/ws/*`: the HTTP endpoints beside the WebSocket (docs/api.md)."""

from __future__ import annotations

import math
import uuid
from typing import Any

import trio
from quart import Blueprint, Response

from actors import Reply

from ..config import CALL_TIMEOUT
from ..hub import DELIVERY_ERRORS, Delivery, Publish, publish
from ..janitor import RunNow
from ..protocol import API_TYPES, ErrorCode, Inbound, MessageType, ProtocolError, validate_fields
from ._auth import authenticate, require_admin
from ._cluster import online_users, statistics
from ._common import ask, json_body, services
from ._errors import ApiError, error_response, json_response

blueprint = Blueprint("ws", __name__)

#: Messages refused (the sender's rate) or not stored by refusal: the status, by error code.
#: (Not stored because the store failed or was busy is no refusal: 200 with `stored: false`.)
_REFUSED = {
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.DUPLICATE_ID: 409,
    ErrorCode.UNKNOWN_RECIPIENT: 404,
    ErrorCode.RECIPIENT_QUOTA: 507,
}


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
    users = await online_users(s)
    listed = [
        {
            "id": str(u.user_id),
            "username": u.username,
            "connections": u.connections,
            "connected_since": u.connected_since,
        }
        for u in users
    ]
    return json_response({"users": listed, "count": len(listed)})


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
    inbound = _validate(body, sender, allowed)
    if inbound.to_user_id is None:
        raise ApiError(400, ErrorCode.BAD_REQUEST, "to_user_id is required (use /ws/broadcast)")
    delivery = await _publish(inbound, sender)
    _raise_refused(delivery)
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
    inbound = _validate(body, sender, API_TYPES)
    if inbound.to_user_id is not None:
        raise ApiError(400, ErrorCode.BAD_REQUEST, "a broadcast has no to_user_id (use /ws/send)")
    delivery = await _publish(inbound, sender)
    _raise_refused(delivery)
    return json_response({"id": inbound.id, "recipients": delivery.delivered})


@blueprint.post("/ws/cleanup")
async def cleanup() -> Response:
    s = services()
    await require_admin(s)
    removed = await ask(s.janitor, RunNow, timeout=CALL_TIMEOUT * 2)
    if s.cluster is not None:  # every other node sweeps too; `removed` counts this one
        s.cluster.broker.publish_control({"op": "cleanup"})
    return json_response({"removed": removed})


def _raise_refused(delivery: Delivery) -> None:
    if delivery.error not in _REFUSED:
        return
    error = ApiError(_REFUSED[delivery.error], delivery.error, DELIVERY_ERRORS[delivery.error])
    if delivery.error is ErrorCode.RATE_LIMITED:
        error.headers["Retry-After"] = str(max(1, math.ceil(delivery.retry_after)))
    raise error


def _validate(
    body: dict[str, Any], sender: uuid.UUID | None, allowed: frozenset[MessageType]
) -> Inbound:
    try:
        return validate_fields(body, sender=sender, allowed=allowed)
    except ProtocolError as exc:
        raise ApiError(400, exc.code, exc.message) from None


async def _publish(inbound: Inbound, sender: uuid.UUID | None) -> Delivery:
    """Route through the hub; a direct message's answer comes after it is stored."""
    received_at = trio.current_time()

    def build(reply: Reply[Delivery]) -> Publish:
        message = publish(inbound, sender, reply.send, received_at=received_at)
        if len(message.envelope) > services().settings.max_message_size:
            raise ApiError(
                413, ErrorCode.PAYLOAD_TOO_LARGE, "the message is larger than the frame limit"
            )
        return message

    return await ask(services().hub, build)
