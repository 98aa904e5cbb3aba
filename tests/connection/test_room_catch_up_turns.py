"""A room's catch-up after a broker interruption waits for a recovery already running in
that room, so that two recoveries never send the same stored messages.

Rules: the connection's real `RoomCursors`, on Trio's clock (`autojump_clock`), every test
under `fail_after`; frames are plain bytes and `emit` a list.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import trio
import trio.testing

from momentum.connection._room_cursors import RoomCursors
from momentum.storage import Room

ROOM = Room(uuid.uuid4(), "r", "public", uuid.uuid4(), None, None, datetime.now(UTC))


async def test_wait_released_returns_when_the_running_recovery_ends(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rooms = RoomCursors(lambda frame: True, 8, lambda room_id: None)
    with trio.fail_after(5):
        await rooms.wait_released(ROOM.id)  # not subscribed: nothing to wait for
        rooms.enter(ROOM)  # subscribing: its recovery holds the room
        assert rooms.room_ids() == [ROOM.id]
        released_at: list[float] = []

        async def waiter() -> None:
            await rooms.wait_released(ROOM.id)
            released_at.append(trio.current_time())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            await trio.sleep(3)
            rooms.recovered(ROOM.id, 4)
        assert released_at == [3.0]
        await rooms.wait_released(ROOM.id)  # live now: at once
        assert rooms.hold(ROOM.id)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            await trio.sleep(1)
            rooms.leave(ROOM.id)  # left while held: the waiter goes too
        assert released_at == [3.0, 4.0]
        assert rooms.room_ids() == []
