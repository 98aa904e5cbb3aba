"""The recovery of a room: the messages a connection missed, read from the store and sent in
offset order, then the room's live messages held meanwhile.

It runs when a client subscribes (from the last offset it saw, if it gives one), when a
gap in the live messages does not fill by itself (`fill_room_gap`), and for every room of
the connection after a broker interruption (`catch_up_rooms`: messages published on other
nodes meanwhile never arrived, and the room may stay quiet for long). It starts once the
room's messages published from then on reach this connection (they are held by its
`RoomCursors`), so a message is either read here or delivered live; one that is both is
sent once. If the store no longer has the first message missed, nothing is sent and the
answer says `recovered: false`: never a partial list.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import trio

from ..rooms import room_envelope
from ..storage import MAX_ROOM_PAGE, StorageError, Store
from ._handle import Handle
from ._replay import _room as wait_for_room

log = logging.getLogger("momentum.connection")

#: How long a gap in a room's live messages may stay open before it is read from the store
#: (a message published on one node may cross Redis after a later one from another).
GAP_WAIT = 1.0


@dataclass(frozen=True, slots=True)
class Recovery:
    """`sent`: the room's last offset the client now has; `recovered`: whether it got every
    message after the offset it gave."""

    sent: int
    recovered: bool


async def recover_room(
    handle: Handle, store: Store, room_id: uuid.UUID, after: int | None
) -> Recovery | None:
    """Send what the room holds after `after` (None: only what comes from now on), then
    release its held live messages; None if the room is gone. `StorageError` propagates, the
    held messages released all the same."""
    await handle.wait_live()  # after the stored direct messages, which hold every frame
    progress = [after or 0]
    try:
        return await _send_missed(handle, store, room_id, after, progress)
    finally:
        handle.rooms.recovered(room_id, progress[0])
        handle.flush()


async def _send_missed(
    handle: Handle, store: Store, room_id: uuid.UUID, after: int | None, progress: list[int]
) -> Recovery | None:
    room = await store.get_room(room_id)
    if room is None:
        return None
    last = room.last_offset
    if after is None or after >= last:
        progress[0] = last
        return Recovery(last, after is None or after == last)
    while True:
        page = await store.room_messages(room_id, after_offset=progress[0], limit=MAX_ROOM_PAGE)
        if not page or page[0].offset != progress[0] + 1:
            if progress[0] >= last:
                return Recovery(progress[0], True)
            # The store no longer has the next message: skip to now, and say so.
            progress[0] = last
            return Recovery(last, False)
        for message in page:
            frame = handle.wire_format.frame(room_envelope(message))
            while not handle.wire.send_frame_nowait(frame):
                if not await wait_for_room(handle.wire):
                    return Recovery(progress[0], False)
            progress[0] = message.offset
        if len(page) < MAX_ROOM_PAGE:
            return Recovery(progress[0], True)


async def fill_room_gap(handle: Handle, store: Store, room_id: uuid.UUID) -> None:
    """A room's live messages skipped an offset: wait `GAP_WAIT` for it, then read it."""
    await trio.sleep(GAP_WAIT)
    after = handle.rooms.gap_after(room_id)
    if after is None or not handle.rooms.hold(room_id):
        return
    try:
        outcome = await recover_room(handle, store, room_id, after)
    except StorageError as exc:
        log.warning("room %s: gap after offset %d not filled now: %s", room_id, after, exc)
        return
    if outcome is not None and not outcome.recovered:
        log.warning("room %s: messages after offset %d are no longer stored", room_id, after)


async def catch_up_rooms(handle: Handle, store: Store) -> None:
    """After a broker interruption: each room's messages after the last offset sent, read
    from the store, in order; one room's failure costs the others nothing."""
    async with trio.open_nursery() as nursery:
        for room_id in handle.rooms.room_ids():
            nursery.start_soon(_catch_up_room, handle, store, room_id)


async def _catch_up_room(handle: Handle, store: Store, room_id: uuid.UUID) -> None:
    # One recovery at a time per room: a running one (a subscribe, a gap) goes first.
    while (cursor := handle.rooms.get(room_id)) is not None and cursor.held is not None:
        await handle.rooms.wait_released(room_id)
    if cursor is None or not handle.rooms.hold(room_id):
        return
    try:
        outcome = await recover_room(handle, store, room_id, cursor.sent)
    except StorageError as exc:
        log.warning("room %s: not caught up after the broker came back: %s", room_id, exc)
        return
    if outcome is not None and not outcome.recovered:
        log.warning("room %s: messages after offset %d are no longer stored", room_id, cursor.sent)
