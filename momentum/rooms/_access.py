"""Who may enter a room, and how large one of its messages may be."""

from __future__ import annotations

from ..protocol import ENVELOPE_OVERHEAD
from ..storage import Room, RoomMember


def may_enter(room: Room, member: RoomMember | None) -> bool:
    """Any authenticated user may enter a public room; only members a private one."""
    return room.kind == "public" or member is not None


def max_payload(room: Room, max_message_size: int) -> int:
    """The most bytes a message's `data` (as JSON) may take in `room`: the room's own
    `max_message_bytes`, within what a WebSocket frame may carry (`WS_MAX_MESSAGE_SIZE`
    less the envelope's fields)."""
    frame_budget = max_message_size - ENVELOPE_OVERHEAD
    if room.max_message_bytes is None:
        return frame_budget
    return min(room.max_message_bytes, frame_budget)
