"""A stored room message as its subscribers receive it."""

from __future__ import annotations

from ..protocol import encode_room_message
from ..storage import RoomMessage


def room_envelope(message: RoomMessage) -> bytes:
    """The envelope of a stored room message: the same bytes live, recovered or in history."""
    return encode_room_message(
        message_id=message.id,
        message_type=message.message_type,
        payload=message.payload,
        room_id=message.room_id,
        offset=message.offset,
        from_user_id=message.sender_id,
        created_at=message.created_at,
    )
