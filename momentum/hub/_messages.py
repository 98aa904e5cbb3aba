"""What the hub's mailbox carries: frozen types, dispatched by type in `_hub`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from actors import Reply

from ..protocol import ErrorCode, Inbound, encode_envelope
from ._counters import HubStats
from ._handle import ConnectionHandle
from ._online import OnlinePage
from ._room_activity import BusiestRooms
from ._room_messages import ChargeSender, GetRoomOnline, RoomRevoke


@dataclass(frozen=True, slots=True)
class Refused:
    """Why a connection is not taken: an HTTP status and the error body's code and message."""

    status: int
    code: ErrorCode
    message: str


@dataclass(frozen=True, slots=True)
class Reserve:
    """call: hold a connection slot for `user_id` before the handshake is accepted.

    The reply is a reservation number, or why not. A reservation that is neither joined nor
    released (its caller timed out or was cancelled) expires by itself.
    """

    user_id: uuid.UUID
    reply: Reply[Refused | int]


@dataclass(frozen=True, slots=True)
class Release:
    """cast: give back a reservation whose handshake did not complete."""

    reservation: int


@dataclass(frozen=True, slots=True)
class ReplayGate:
    """When a new connection may read its user's stored messages without missing one.

    `committed` is set (by the store writer) once every direct message routed to the user
    before the join is committed; `routed` is set (by the broker) once every message
    committed from then on reaches this node: the user's topic is subscribed. A message is
    then either in the store when the connection reads it, or published after the
    subscription and delivered live (the handle holds it until the replay is done).
    """

    committed: trio.Event = field(default_factory=trio.Event)
    routed: trio.Event = field(default_factory=trio.Event)


@dataclass(frozen=True, slots=True)
class Join:
    """cast: an accepted connection, taking up its reservation; `gate` says when it may
    replay stored messages."""

    handle: ConnectionHandle
    reservation: int
    gate: ReplayGate


@dataclass(frozen=True, slots=True)
class Leave:
    """cast: the connection actor has finished."""

    handle: ConnectionHandle


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of a message: live deliveries, and whether it is stored (direct only).

    `error` says why a direct message is not stored (a key of `DELIVERY_ERRORS`), or
    that no message went anywhere: its sender is over its rate (`rate_limited`; it may
    send again in `retry_after` seconds). `ref_id` is the id the sender knows it by.
    """

    message_id: str
    ref_id: str
    delivered: int
    stored: bool
    error: ErrorCode | None = None
    retry_after: float = 0.0


_NOT_STORED = "the message was not stored: "
#: What went wrong, in words for the sender, by `Delivery.error`.
DELIVERY_ERRORS = {
    ErrorCode.STORAGE_BUSY: _NOT_STORED + "the store is busy",
    ErrorCode.STORAGE_UNAVAILABLE: _NOT_STORED + "the store failed",
    ErrorCode.DUPLICATE_ID: _NOT_STORED + "its id is already taken by another of your messages",
    ErrorCode.UNKNOWN_RECIPIENT: _NOT_STORED + "no user has the id to_user_id",
    ErrorCode.RECIPIENT_QUOTA: _NOT_STORED + "the recipient has too many undelivered messages",
    ErrorCode.RATE_LIMITED: "the message was not sent: you send too fast (all your connections"
    " and HTTP requests together)",
}


@dataclass(frozen=True, slots=True)
class Publish:
    """cast or call: route one message; `envelope` is encoded once, for every recipient.

    `answer` is the sender's: the connection's (an `ack` frame) or the HTTP request's reply.
    The hub answers a broadcast after its live delivery; a direct message is answered by
    the store writer after the commit. `sender_id` None means the system.
    """

    message_id: str
    ref_id: str
    message_type: str
    to_user_id: uuid.UUID | None
    envelope: bytes
    received_at: float
    sender_id: uuid.UUID | None
    answer: Callable[[Delivery], object]


def publish(
    inbound: Inbound,
    sender_id: uuid.UUID | None,
    answer: Callable[[Delivery], object],
    *,
    received_at: float,
) -> Publish:
    """Encode a validated message once, as its recipients will get it, for the hub (the
    WebSocket reader and `POST /ws/send` both come here)."""
    envelope = encode_envelope(
        inbound.type,
        inbound.data,
        message_id=inbound.id,
        from_user_id=sender_id,
        to_user_id=inbound.to_user_id,
    )
    return Publish(
        inbound.id,
        inbound.ref_id,
        inbound.type.value,
        inbound.to_user_id,
        envelope,
        received_at,
        sender_id,
        answer,
    )


@dataclass(frozen=True, slots=True)
class RoomJoin:
    """cast: the connection subscribes to a room; `routed` is set once the room's messages
    published anywhere from then on reach it (then it may read what it missed). `until`:
    a room grant admitted it, up to that Trio time (None: membership or a public room)."""

    handle: ConnectionHandle
    room_id: uuid.UUID
    routed: trio.Event
    until: float | None = None


@dataclass(frozen=True, slots=True)
class RoomLeave:
    """cast: the connection unsubscribes from a room."""

    handle: ConnectionHandle
    room_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class RoomPublish:
    """cast: a room message, stored already with its `offset`, for the room's subscribers
    here and on every other node; `envelope` is encoded once."""

    room_id: uuid.UUID
    offset: int
    message_id: str
    message_type: str
    envelope: bytes
    received_at: float


@dataclass(frozen=True, slots=True)
class GetOnlinePage:
    """call: up to `limit` users online here with ids above `after` (see `_online`)."""

    after: uuid.UUID | None
    limit: int
    reply: Reply[OnlinePage]


@dataclass(frozen=True, slots=True)
class GetStats:
    reply: Reply[HubStats]


@dataclass(frozen=True, slots=True)
class GetBusiestRooms:
    """call: this node's busiest rooms, by subscribers and by messages per second."""

    reply: Reply[BusiestRooms]


@dataclass(frozen=True, slots=True)
class Sweep:
    """call: close connections idle since before `idle_before` (Trio time); reply the count."""

    idle_before: float
    reply: Reply[int]


@dataclass(frozen=True, slots=True)
class SetUserActive:
    """call: a user was disabled (close its connections with 4003, and any that join in the
    next minute: their handshakes began before) or enabled again; reply the count closed."""

    user_id: uuid.UUID
    active: bool
    reply: Reply[int] | None  # None: a cast (the command came from another node)


@dataclass(frozen=True, slots=True)
class Disconnect:
    """call: an operator closes a user's connections (4004) without disabling it; reply the
    count closed (None: a cast, the command came from another node)."""

    user_id: uuid.UUID
    reply: Reply[int] | None


@dataclass(frozen=True, slots=True)
class RevokeTokens:
    """cast: tokens of a user were revoked; close (4001) its connections opened with token
    `jti`, or a token of `session`, or one issued before `issued_before_ms` (epoch ms)."""

    user_id: uuid.UUID
    jti: str | None
    issued_before_ms: int = 0
    session: str | None = None


@dataclass(frozen=True, slots=True)
class Forward:
    """cast (the broker): a frame another node published on `topic`, for the local
    connections of that topic; `kind` is its message type (for the counters)."""

    topic: str
    frame: bytes
    kind: str


@dataclass(frozen=True, slots=True)
class CatchUp:
    """cast (the broker): replay stored messages to every connection, after a broker
    interruption (frames published meanwhile never arrived)."""


@dataclass(frozen=True, slots=True)
class CloseAll:
    """call: close every connection (shutdown: 1001); reply the count."""

    code: int
    reason: str
    reply: Reply[int]


@dataclass(frozen=True, slots=True)
class Tick:
    """cast (from the hub's own ticker): flush presence, sample rates."""


HubMsg = (
    Reserve
    | Release
    | Join
    | Leave
    | Publish
    | RoomJoin
    | RoomLeave
    | RoomPublish
    | GetOnlinePage
    | RoomRevoke
    | ChargeSender
    | GetRoomOnline
    | GetStats
    | Sweep
    | SetUserActive
    | GetBusiestRooms
    | Disconnect
    | RevokeTokens
    | Forward
    | CatchUp
    | CloseAll
    | Tick
)
