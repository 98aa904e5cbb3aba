"""What a client hands the application, in order, on its events channel."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from ._errors import MomentumError


class ConnectionState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class StateChanged:
    """The connection moved to `state`.

    `reason` says why in words; `close_code` is the server's close code when a close caused
    it (and `close_reason` the reason the server gave); `error` is what failed when the
    connection could not open (`HandshakeRefused`, `ServerUnreachable`). `retry_in` is the
    delay before the next attempt (seconds) while reconnecting, and None once the client
    stopped for good (`final` is then True: 4003, 4001 with no way to refresh the token, a
    refused handshake, the attempts exhausted, or the application closed).
    """

    state: ConnectionState
    reason: str = ""
    close_code: int | None = None
    retry_in: float | None = None
    final: bool = False
    close_reason: str = ""
    error: MomentumError | None = None


@dataclass(frozen=True)
class Message:
    """A direct message, a broadcast or a system message (an envelope, docs/protocol.md).

    Direct messages to this user were de-duplicated by `id` and are acknowledged to the
    server by the client (batched), so they are not replayed on the next connection.
    """

    id: str
    message_type: str
    data: dict[str, Any]
    timestamp: str | None
    from_user_id: str | None
    to_user_id: str | None

    @property
    def is_direct(self) -> bool:
        return self.to_user_id is not None


@dataclass(frozen=True)
class RoomMessage:
    """A room's message, each offset once and in order per room."""

    id: str
    room_id: str
    offset: int
    message_type: str
    data: dict[str, Any]
    timestamp: str | None
    from_user_id: str | None


@dataclass(frozen=True)
class RoomJoined:
    """A room subscription took effect (on `join`, and again after every reconnect).

    `recovered` is False when the server no longer had every message missed since `offset`
    was last seen: the gap is lost for live delivery (`GET /rooms/<id>/messages` has what the
    store holds). `offset` is the room's last offset the client now has.
    """

    room_id: str
    offset: int
    recovered: bool


@dataclass(frozen=True)
class Presence:
    """`user_joined` / `user_left`: `users` as `{user_id, username}`, `count` in all."""

    joined: bool
    users: tuple[dict[str, Any], ...]
    count: int


@dataclass(frozen=True)
class ServerError:
    """An `error` envelope that answers no call of this client (its `data` as sent)."""

    code: str
    message: str
    data: dict[str, Any]


@dataclass(frozen=True)
class OtherEnvelope:
    """A message type this SDK does not know (room presence, newer servers), or an `ack`
    that answers no call (of `cast_envelope`, or one that came after its call gave up):
    passed on whole."""

    message_type: str
    envelope: dict[str, Any]


Event = StateChanged | Message | RoomMessage | RoomJoined | Presence | ServerError | OtherEnvelope
