"""What a connection does with each frame its client sends.

Order of checks: rate limit (a flood costs nothing past the bucket), frame kind, envelope
validation, then by type: `ping` is answered here (through the hub while stored messages are
replayed, so that the pong comes after them), `ack` goes to the persistence actor, and
`text` / `notification` are encoded once and handed to the hub. Every refusal is an `error`
envelope to this client only; the connection stays open, except for a sustained flood (4008).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import trio
import trio_websocket

from actors import ActorRef

from ..protocol import (
    CloseCode,
    ErrorCode,
    Inbound,
    MessageType,
    ProtocolError,
    encode_envelope,
    encode_error,
    parse_client_message,
    text_frame,
)
from ._messages import HubMsg, Publish, SendTo
from ._ratelimit import TokenBucket
from ._session import Session
from .persistence import Acknowledge, Backlog, PersistenceMsg

#: Message ids one client `ack` may carry.
MAX_ACK_IDS = 1000


@dataclass(frozen=True, slots=True)
class Routes:
    hub: ActorRef[HubMsg]
    persistence: ActorRef[PersistenceMsg]
    backlog: Backlog
    max_message_size: int


async def read_frames(
    session: Session, ws: trio_websocket.WebSocketConnection, routes: Routes, bucket: TokenBucket
) -> None:
    """Handle the client's frames until it closes, or floods (4008)."""
    while True:
        try:
            message = await ws.get_message()
        except trio_websocket.ConnectionClosed:
            return
        now = session.last_activity = trio.current_time()
        if not bucket.allow(now):
            if bucket.flooding:
                session.request_close(CloseCode.RATE_LIMITED, "rate limit exceeded repeatedly")
                return
            reply_error(session, ErrorCode.RATE_LIMITED, "slow down: rate limit exceeded", None)
        elif isinstance(message, bytes):
            reply_error(session, ErrorCode.BINARY_UNSUPPORTED, "send JSON in text frames", None)
        else:
            await _handle_text(session, message, routes, now)


async def _handle_text(session: Session, text: str, routes: Routes, now: float) -> None:
    try:
        inbound = parse_client_message(
            text, sender=session.user_id, max_size=routes.max_message_size
        )
    except ProtocolError as exc:
        reply_error(session, exc.code, exc.message, exc.ref_id)
        return
    match inbound.type:
        case MessageType.PING:
            pong = encode_envelope(
                MessageType.PONG, {}, message_id=inbound.ref_id, to_user_id=session.user_id
            )
            if session.held is None:
                session.send_or_close(text_frame(pong))
            else:  # replaying stored messages: the pong comes after them, like live traffic
                with _held_back(session):
                    await routes.hub.cast(SendTo(session, text_frame(pong)))
        case MessageType.ACK:
            with _held_back(session):
                await _acknowledge(session, inbound, routes)
        case _:
            with _held_back(session):
                if inbound.to_user_id is not None:  # durable: wait while the store is behind
                    await routes.backlog.wait_for_room()
                await routes.hub.cast(_publish(session, inbound, now))


@contextlib.contextmanager
def _held_back(session: Session) -> Iterator[None]:
    """The reader waits on the server (a full mailbox, the store behind): not the client's
    fault, and meanwhile its pongs go unread (see the heartbeat)."""
    session.holds += 1
    try:
        yield
    finally:
        session.holds -= 1
        session.last_held = trio.current_time()


def _publish(session: Session, inbound: Inbound, now: float) -> Publish:
    envelope = encode_envelope(
        inbound.type,
        inbound.data,
        message_id=inbound.id,
        from_user_id=session.user_id,
        to_user_id=inbound.to_user_id,
    )
    return Publish(
        inbound.id,
        inbound.ref_id,
        inbound.type.value,
        inbound.to_user_id,
        envelope,
        now,
        sender_id=session.user_id,
        sender=session,
    )


async def _acknowledge(session: Session, inbound: Inbound, routes: Routes) -> None:
    """`{"message_type": "ack", "data": {"ids": [...]}}`: these stored messages arrived."""
    ids = inbound.data.get("ids")
    if (
        not isinstance(ids, list)
        or not 0 < len(ids) <= MAX_ACK_IDS
        or not all(isinstance(i, str) for i in ids)
    ):
        reply_error(
            session,
            ErrorCode.INVALID_ENVELOPE,
            f"an ack needs data.ids: 1 to {MAX_ACK_IDS} message id strings",
            inbound.ref_id,
        )
        return
    await routes.persistence.cast(Acknowledge(session.user_id, tuple(ids)))


def reply_error(session: Session, code: ErrorCode, message: str, ref_id: str | None) -> None:
    """An `error` envelope to this client only."""
    error = encode_error(code, message, ref_id=ref_id, to_user_id=session.user_id)
    session.send_or_close(text_frame(error))
