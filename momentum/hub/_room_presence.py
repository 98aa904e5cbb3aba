"""Room presence: `room_member_joined` / `room_member_left`, coalesced like user presence.

A user is in a room while at least one of its connections subscribes to it. The hub's
`RoomRegistry` reports a user's first connection in a room on this node and its last one
out; one process alone announces those itself, batched per room and flushed once per
presence interval (`PresenceBatch`'s rules: a user in and out within one interval is never
announced). In a cluster a `RoomPresenceSink` gets them instead and decides, across the
nodes, who came into or left the room anywhere. Either way a room's presence frame goes
only to the subscribers of that room (the room's topic across nodes, with the kind
`ROOM_PRESENCE` so that a node tells it from the room's numbered messages).

The frames name the room in `data.room_id`, beside the listing user presence has
(`users`, `count`, `more`, and `user_id` / `username` for one user).
"""

from __future__ import annotations

import uuid
from typing import Any

from ..broker import RoomPresenceSink
from ..protocol import Frame, MessageType, encode_envelope
from ._presence import MAX_LISTED

#: The kind (for the broker and the counters) of a room's presence frames.
ROOM_PRESENCE = "room_presence"


class RoomPresence:
    """Who came into or left which room since the last flush (or the cluster's sink)."""

    __slots__ = ("_joined", "_left", "sink")

    def __init__(self, sink: RoomPresenceSink | None = None) -> None:
        self.sink = sink
        self._joined: dict[uuid.UUID, dict[uuid.UUID, str]] = {}
        self._left: dict[uuid.UUID, dict[uuid.UUID, str]] = {}

    def __bool__(self) -> bool:
        return bool(self._joined or self._left)

    def joined(self, room_id: uuid.UUID, user_id: uuid.UUID, username: str) -> None:
        if self.sink is not None:
            self.sink.room_online(room_id, user_id, username)
        elif self._left.get(room_id, {}).pop(user_id, None) is None:
            self._joined.setdefault(room_id, {})[user_id] = username

    def left(self, room_id: uuid.UUID, user_id: uuid.UUID, username: str) -> None:
        if self.sink is not None:
            self.sink.room_offline(room_id, user_id, username)
        elif self._joined.get(room_id, {}).pop(user_id, None) is None:
            self._left.setdefault(room_id, {})[user_id] = username

    def flush(self) -> list[tuple[uuid.UUID, bytes]]:
        """Each room's envelopes (0 to 2 per room), and a fresh batch."""
        joined, self._joined = self._joined, {}
        left, self._left = self._left, {}
        return [
            (room_id, envelope)
            for room_id in joined.keys() | left.keys()
            for envelope in room_presence_envelopes(
                room_id, joined.get(room_id, {}), left.get(room_id, {})
            )
        ]


def room_presence_envelopes(
    room_id: uuid.UUID, joined: dict[uuid.UUID, str], left: dict[uuid.UUID, str]
) -> list[bytes]:
    """The `room_member_joined` and `room_member_left` envelopes of one room (0 to 2)."""
    return [
        encode_envelope(kind, _listing(room_id, users))
        for kind, users in (
            (MessageType.ROOM_MEMBER_JOINED, joined),
            (MessageType.ROOM_MEMBER_LEFT, left),
        )
        if users
    ]


def _listing(room_id: uuid.UUID, users: dict[uuid.UUID, str]) -> dict[str, Any]:
    listed = [
        {"user_id": str(user_id), "username": name}
        for user_id, name in list(users.items())[:MAX_LISTED]
    ]
    data: dict[str, Any] = {
        "room_id": str(room_id),
        "users": listed,
        "count": len(users),
        "more": len(users) - len(listed),
    }
    if len(users) == 1:
        data.update(listed[0])
    return data


def unsubscribed_frame(room_id: uuid.UUID, reason: str) -> Frame:
    """The `room_unsubscribed` notice: the server ended the subscription, and why."""
    data = {"room_id": str(room_id), "reason": reason}
    return Frame.of_envelope(encode_envelope(MessageType.ROOM_UNSUBSCRIBED, data))
