"""What the hub's mailbox carries about rooms, past subscribing and publishing (in
`_messages`): revocations, the per-user publish rate, who is in a room."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from actors import Reply


@dataclass(frozen=True, slots=True)
class RoomRevoke:
    """cast: the room's subscribers here that may no longer enter it are unsubscribed and
    told why (`room_unsubscribed`, `reason`): all of them when `user_id` is None (the room
    was deleted), else those of `user_id` that no grant admitted (removed from a private
    room, or not a member of a room turned private)."""

    room_id: uuid.UUID
    reason: str
    user_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class ChargeSender:
    """call: one message of `user_id` to a room, against the user's rate (the one bucket
    its direct messages and broadcasts draw from too); reply 0.0 to go ahead, else the
    seconds until it may send."""

    user_id: uuid.UUID
    reply: Reply[float]


@dataclass(frozen=True, slots=True)
class GetRoomOnline:
    """call: the users subscribed to the room on this node, each with its number of
    connections there."""

    room_id: uuid.UUID
    reply: Reply[dict[uuid.UUID, int]]
