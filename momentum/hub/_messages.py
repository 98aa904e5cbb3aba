"""What the hub's mailbox carries (frozen types, dispatched by type in `_hub`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from actors import Reply

from ._session import Session


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the hub will not take one more connection (mapped to 429 / 503)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Reserve:
    """call: hold a connection slot for `user_id` before the handshake is accepted.

    The reply is a reservation number, or why not. A reservation that is neither joined nor
    released (its caller timed out or was cancelled) expires by itself.
    """

    user_id: uuid.UUID
    reply: Reply[Refusal | int]


@dataclass(frozen=True, slots=True)
class Release:
    """cast: give back a reservation whose handshake did not complete."""

    reservation: int


@dataclass(frozen=True, slots=True)
class Join:
    """cast: an accepted connection, taking up its reservation."""

    session: Session
    reservation: int


@dataclass(frozen=True, slots=True)
class Leave:
    """cast: the connection actor has finished."""

    session: Session


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of a message: live deliveries, and whether it is stored (direct only).

    `duplicate` means the store holds another message under this id (the same sender reused
    the id for another recipient): nothing was stored for this one.
    """

    delivered: int
    stored: bool
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Publish:
    """Route one message; `envelope` is encoded once by the sender, for every recipient.

    From a connection it is a cast (`reply` None: the sender's session gets an `ack`); from
    the HTTP API a call whose reply is the `Delivery`. `sender_id` None means the system.
    """

    message_id: str
    ref_id: str  # the id the sender knows it by (its own choice, else `message_id`)
    message_type: str
    to_user_id: uuid.UUID | None
    envelope: bytes
    received_at: float
    sender_id: uuid.UUID | None = None
    sender: Session | None = None
    reply: Reply[Delivery] | None = None


@dataclass(frozen=True, slots=True)
class SendTo:
    """cast: one frame for one connection, in order with what the hub sends it (a pong
    answered while stored messages are replayed comes after them)."""

    session: Session
    frame: bytes


@dataclass(frozen=True, slots=True)
class ReplayDone:
    """cast: the connection has sent its stored messages; release the held live frames."""

    session: Session


@dataclass(frozen=True, slots=True)
class OnlineUser:
    user_id: uuid.UUID
    username: str
    connections: int
    connected_since: str


@dataclass(frozen=True, slots=True)
class GetOnline:
    reply: Reply[list[OnlineUser]]


@dataclass(frozen=True, slots=True)
class GetStats:
    reply: Reply[dict[str, Any]]


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
    reply: Reply[int]


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
    | ReplayDone
    | SendTo
    | GetOnline
    | GetStats
    | Sweep
    | SetUserActive
    | CloseAll
    | Tick
)
