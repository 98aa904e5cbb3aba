"""A room message a client publishes: handed to the room writer, answered after the commit.

The reader hands the message over and goes on reading (a publisher's messages are appended
in the order it sent them, many in one transaction); the room writer calls `_written` once
the batch is committed, in the writer's task. A stored message goes to the hub (to this
node's subscribers and the other nodes), then the publisher gets its `ack` with the offset:
never before the commit. Not stored, the publisher gets an `error` with its `ref_id`:
`storage_busy` (the writer's mailbox is full), `storage_unavailable` (the store failed),
`duplicate_id`, or `not_found` (the room was deleted meanwhile).
"""

from __future__ import annotations

from functools import partial

from ..hub import RoomLeave, RoomPublish
from ..protocol import ErrorCode
from ..rooms import RequestError, room_envelope
from ..storage import NewRoomMessage, RoomAppend, RoomMessage, RoomRefusal
from ._handle import Handle
from ._links import ReaderLinks
from ._room_replies import ack, error

_NOT_STORED = {
    RoomRefusal.FAILED: (ErrorCode.STORAGE_UNAVAILABLE, "the message was not stored"),
    RoomRefusal.ID_TAKEN: (
        ErrorCode.DUPLICATE_ID,
        "its id is already taken by another of your messages",
    ),
    RoomRefusal.NO_ROOM: (ErrorCode.NOT_FOUND, "no such room"),
}


async def hand_over(
    handle: Handle, ref_id: str, links: ReaderLinks, new: NewRoomMessage, now: float
) -> None:
    """Give the message to the room writer (waiting while it is behind); `RequestError`
    with `storage_busy` if its mailbox is full all the same."""
    written = partial(_written, handle, ref_id, links, new, now)
    if not await links.room_writing.append(new, written):
        raise RequestError(ErrorCode.STORAGE_BUSY, "the store is busy: the message was not stored")


async def _written(
    handle: Handle,
    ref_id: str,
    links: ReaderLinks,
    new: NewRoomMessage,
    now: float,
    result: RoomAppend,
) -> None:
    if isinstance(result, RoomMessage):
        await _stored(handle, ref_id, links, result, now)
        return
    if result is RoomRefusal.NO_ROOM:
        handle.rooms.leave(new.room_id)
        await links.hub.cast(RoomLeave(handle, new.room_id))
    code, why = _NOT_STORED[result]
    error(handle, code, why, ref_id)


async def _stored(
    handle: Handle, ref_id: str, links: ReaderLinks, stored: RoomMessage, now: float
) -> None:
    envelope = room_envelope(stored)
    kind = stored.message_type
    await links.hub.cast(RoomPublish(stored.room_id, stored.offset, stored.id, kind, envelope, now))
    answer = {
        "ref_id": ref_id,
        "message_id": stored.id,
        "room_id": str(stored.room_id),
        "offset": stored.offset,
        "stored": True,
    }
    ack(handle, answer)
