"""Room envelopes: a message of a room as clients receive it.

A room message is the usual envelope plus `room_id` and `offset` (its position in the room,
1, 2, 3, … with no gap); `to_user_id` is null. Its `data` is kept as the JSON bytes the
store holds and spliced in without being parsed again, so a live message and the same
message read back from history are the same bytes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson


def envelope_timestamp(moment: datetime) -> str:
    """A stored time as envelopes carry it: ISO 8601 in UTC, milliseconds, a `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def encode_room_message(
    *,
    message_id: str,
    message_type: str,
    payload: bytes,
    room_id: uuid.UUID,
    offset: int,
    from_user_id: uuid.UUID | None,
    created_at: datetime,
) -> bytes:
    """One room message envelope as JSON bytes; `payload` is the JSON of its `data`."""
    return orjson.dumps(
        {
            "id": message_id,
            "message_type": message_type,
            "data": orjson.Fragment(payload),
            "timestamp": envelope_timestamp(created_at),
            "from_user_id": str(from_user_id) if from_user_id else None,
            "to_user_id": None,
            "room_id": str(room_id),
            "offset": offset,
        }
    )


_OFFSET_KEY = b'"offset":'


def room_frame_offset(frame: bytes) -> int:
    """The offset of a room message frame built by `encode_room_message` (its last field),
    read without parsing the JSON; `ValueError` if the frame is not one."""
    start = frame.rfind(_OFFSET_KEY)
    if start < 0 or not frame.endswith(b"}"):
        raise ValueError("not a room message frame")
    return int(frame[start + len(_OFFSET_KEY) : -1])
