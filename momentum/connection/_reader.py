"""What a connection does with each frame its client sends.

Order of checks: rate limit (a flood costs nothing past the bucket; the client's pings and
pongs draw from the same bucket, see `_websocket`), frame kind, envelope
validation, then by type: `ping` is answered here (after any stored messages being
replayed), `ack` goes to the store writer, the room requests to `_rooms`, `auth` (a new
token) to `_reauth`, and `text` /
`notification` are encoded once and handed to the hub. Every refusal is an `error` envelope
to this client only; the connection stays open, except for a sustained flood (4008).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import trio
import trio_websocket

from ..hub import DELIVERY_ERRORS, Delivery, publish
from ..protocol import (
    ROOM_TYPES,
    CloseCode,
    ErrorCode,
    Inbound,
    MessageType,
    ProtocolError,
    encode_ack,
    encode_envelope,
    encode_error,
    parse_client_message,
    text_frame,
)
from ..storage import Acknowledge
from ._handle import Handle
from ._links import ReaderLinks
from ._ratelimit import TokenBucket
from ._reauth import refresh_token
from ._rooms import handle_room_request

#: Message ids one client `ack` may carry.
MAX_ACK_IDS = 1000


async def read_frames(
    handle: Handle, ws: trio_websocket.WebSocketConnection, links: ReaderLinks, bucket: TokenBucket
) -> None:
    """Handle the client's frames until it closes, or floods (4008)."""
    while True:
        try:
            message = await ws.get_message()
        except trio_websocket.ConnectionClosed:
            return
        now = handle.last_activity = trio.current_time()
        if not charge(handle, bucket, now):
            if bucket.flooding:
                return
            reply_error(handle, ErrorCode.RATE_LIMITED, "slow down: rate limit exceeded", None)
        elif isinstance(message, bytes):
            reply_error(handle, ErrorCode.BINARY_UNSUPPORTED, "send JSON in text frames", None)
        else:
            await _handle_text(handle, message, links, now)


def charge(handle: Handle, bucket: TokenBucket, now: float) -> bool:
    """Take a token for one frame from the client (a message, a ping or a pong); False when
    over the rate. A sustained flood also closes the connection with 4008."""
    if bucket.allow(now):
        return True
    if bucket.flooding:
        handle.close(CloseCode.RATE_LIMITED, "rate limit exceeded repeatedly")
    return False


async def _handle_text(handle: Handle, text: str, links: ReaderLinks, now: float) -> None:
    try:
        inbound = parse_client_message(text, sender=handle.user_id, max_size=links.max_message_size)
    except ProtocolError as exc:
        reply_error(handle, exc.code, exc.message, exc.ref_id)
        return
    match inbound.type:
        case MessageType.PING:
            pong = encode_envelope(
                MessageType.PONG, {}, message_id=inbound.ref_id, to_user_id=handle.user_id
            )
            handle.send(text_frame(pong))
        case MessageType.ACK:
            with _stalled(handle):
                await _acknowledge(handle, inbound, links)
        case MessageType.AUTH:
            with _stalled(handle):
                await refresh_token(handle, inbound, links.reauth)
        case kind if kind in ROOM_TYPES:
            with _stalled(handle):
                await handle_room_request(handle, inbound, links, now)
        case _:
            with _stalled(handle):
                if inbound.to_user_id is not None:  # durable: wait while the store is behind
                    await links.backpressure.wait_for_room()
                answer = _Answer(handle)
                await links.hub.cast(publish(inbound, handle.user_id, answer, received_at=now))


@contextlib.contextmanager
def _stalled(handle: Handle) -> Iterator[None]:
    """The reader waits on the server (a full mailbox, the store behind): not the client's
    fault, and meanwhile its pongs go unread (see the heartbeat)."""
    handle.stall_started()
    try:
        yield
    finally:
        handle.stall_ended()


@dataclass(frozen=True, slots=True)
class _Answer:
    """The sender's answer to one of its messages: an `error` first if it was not stored
    (direct messages only), then its `ack`."""

    handle: Handle

    def __call__(self, delivery: Delivery) -> None:
        handle = self.handle
        if delivery.error is not None:
            why = DELIVERY_ERRORS[delivery.error]
            reply_error(handle, delivery.error, why, delivery.ref_id)
        ack = encode_ack(
            ref_id=delivery.ref_id,
            message_id=delivery.message_id,
            delivered=delivery.delivered,
            stored=delivery.stored,
            to_user_id=handle.user_id,
        )
        handle.send(text_frame(ack))


async def _acknowledge(handle: Handle, inbound: Inbound, links: ReaderLinks) -> None:
    """`{"message_type": "ack", "data": {"ids": [...]}}`: these stored messages arrived."""
    ids = inbound.data.get("ids")
    if (
        not isinstance(ids, list)
        or not 0 < len(ids) <= MAX_ACK_IDS
        or not all(isinstance(i, str) for i in ids)
    ):
        reply_error(
            handle,
            ErrorCode.INVALID_ENVELOPE,
            f"an ack needs data.ids: 1 to {MAX_ACK_IDS} message id strings",
            inbound.ref_id,
        )
        return
    await links.writer.cast(Acknowledge(handle.user_id, tuple(ids)))


def reply_error(handle: Handle, code: ErrorCode, message: str, ref_id: str | None) -> None:
    """An `error` envelope to this client only."""
    handle.send(text_frame(encode_error(code, message, ref_id=ref_id, to_user_id=handle.user_id)))
