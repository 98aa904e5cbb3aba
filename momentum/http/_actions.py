"""What an operator does, shared by the HTTP API and the dashboard: publish a message,
enable or disable a user, disconnect a user, run the cleanup. Each raises `ApiError` for
the caller's mistakes."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import trio

from actors import Reply

from ..auth import retry_after
from ..config import CALL_TIMEOUT
from ..hub import DELIVERY_ERRORS, Delivery, Disconnect, Publish, SetUserActive, publish
from ..janitor import RunNow
from ..protocol import ErrorCode, Inbound, MessageType, ProtocolError, validate_fields
from ..storage import StorageError, User
from ._common import ask, store_unavailable
from ._errors import ApiError
from ._services import Services

log = logging.getLogger("momentum.http")

#: Messages refused (the sender's rate) or not stored by refusal: the status, by error code.
#: (Not stored because the store failed or was busy is no refusal: 200 with `stored: false`.)
_REFUSED = {
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.DUPLICATE_ID: 409,
    ErrorCode.UNKNOWN_RECIPIENT: 404,
    ErrorCode.RECIPIENT_QUOTA: 507,
}


def validate_message(
    body: dict[str, Any], sender: uuid.UUID | None, allowed: frozenset[MessageType]
) -> Inbound:
    """The envelope fields of an API message, checked like a WebSocket frame's."""
    try:
        return validate_fields(body, sender=sender, allowed=allowed)
    except ProtocolError as exc:
        raise ApiError(400, exc.code, exc.message) from None


async def publish_message(s: Services, inbound: Inbound, sender: uuid.UUID | None) -> Delivery:
    """Route through the hub; a direct message's answer comes after it is stored."""
    received_at = trio.current_time()

    def build(reply: Reply[Delivery]) -> Publish:
        message = publish(inbound, sender, reply.send, received_at=received_at)
        if len(message.envelope) > s.settings.max_message_size:
            raise ApiError(
                413, ErrorCode.PAYLOAD_TOO_LARGE, "the message is larger than the frame limit"
            )
        return message

    delivery = await ask(s.hub, build)
    _raise_refused(delivery)
    return delivery


def _raise_refused(delivery: Delivery) -> None:
    if delivery.error not in _REFUSED:
        return
    error = ApiError(_REFUSED[delivery.error], delivery.error, DELIVERY_ERRORS[delivery.error])
    if delivery.error is ErrorCode.RATE_LIMITED:
        error.headers["Retry-After"] = retry_after(delivery.retry_after)
    raise error


async def set_user_flags(
    s: Services, user_id: uuid.UUID, *, is_active: bool | None, is_admin: bool | None, by: str
) -> tuple[User, int]:
    """Store the flags; disabling closes the user's connections (4003) on every node.

    Returns the user and how many of its connections this node closed.
    """
    try:
        user = await s.store.set_user_flags(user_id, is_active=is_active, is_admin=is_admin)
    except StorageError:
        raise store_unavailable() from None
    if user is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such user")
    closed = 0
    if is_active is not None:  # the hub closes a disabled user's connections, or forgets it
        closed = await ask(s.hub, lambda reply: SetUserActive(user_id, is_active, reply))
        if s.cluster is not None:  # its connections on every other node, too
            op = "enable" if is_active else "disable"
            s.cluster.broker.publish_control({"op": op, "user_id": str(user_id)})
        state = "enabled" if is_active else "disabled"
        log.info(
            "user %s (%s) %s by %s: %d connection(s) closed",
            user.username,
            user_id,
            state,
            by,
            closed,
        )
    return user, closed


async def disconnect_user(s: Services, user: User, *, by: str) -> int:
    """Close the user's connections (4004) on every node; the account stays enabled.
    Returns how many this node closed."""
    closed: int = await ask(s.hub, lambda reply: Disconnect(user.id, reply))
    if s.cluster is not None:
        s.cluster.broker.publish_control({"op": "disconnect", "user_id": str(user.id)})
    log.info(
        "user %s (%s) disconnected by %s: %d connection(s) closed on this node",
        user.username,
        user.id,
        by,
        closed,
    )
    return closed


async def run_cleanup(s: Services, *, by: str) -> int:
    """The janitor's sweep now, here and on every other node: idle connections closed (4010)
    and expired stored messages purged. Returns the connections this node closed."""
    removed = await ask(s.janitor, RunNow, timeout=CALL_TIMEOUT * 2)
    if s.cluster is not None:
        s.cluster.broker.publish_control({"op": "cleanup"})
    log.info("cleanup run by %s: %d idle connection(s) closed on this node", by, removed)
    return removed
