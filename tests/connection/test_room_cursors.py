"""A connection's room cursors: every room message sent once, in offset order.

Rules: pure unit tests, no I/O and no clock; frames hold plain bytes and `emit` a list (or
one that refuses once full), so each test states exactly what reaches the client.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from momentum.connection._room_cursors import RoomCursors
from momentum.protocol import Frame
from momentum.storage import Room

ROOM = Room(uuid.uuid4(), "r", "public", uuid.uuid4(), None, None, datetime.now(UTC))


def frame(offset: int) -> Frame:
    return Frame(sent_as(offset))


def sent_as(offset: int) -> bytes:
    return b"m%d" % offset


def cursors(capacity: int = 100) -> tuple[RoomCursors, list[bytes], list[uuid.UUID]]:
    sent: list[bytes] = []
    gaps: list[uuid.UUID] = []

    def emit(data: Frame) -> bool:
        if len(sent) >= capacity:
            return False
        sent.append(data.json)
        return True

    return RoomCursors(emit, 8, gaps.append), sent, gaps


def live(rooms: RoomCursors, after: int = 0) -> None:
    rooms.enter(ROOM)
    rooms.recovered(ROOM.id, after)


def test_in_order_messages_go_out_at_once_and_repeats_are_dropped() -> None:
    rooms, sent, gaps = cursors()
    live(rooms)
    for offset in (1, 2, 2, 1, 3):
        assert rooms.offer(ROOM.id, offset, frame(offset))
    assert sent == [sent_as(1), sent_as(2), sent_as(3)]
    assert gaps == []


def test_a_message_past_a_gap_waits_for_it_and_reports_the_gap_once() -> None:
    rooms, sent, gaps = cursors()
    live(rooms, after=4)
    assert rooms.offer(ROOM.id, 7, frame(7))
    assert rooms.offer(ROOM.id, 6, frame(6))
    assert sent == [] and gaps == [ROOM.id]
    assert rooms.gap_after(ROOM.id) == 4
    assert rooms.offer(ROOM.id, 5, frame(5))
    assert sent == [sent_as(5), sent_as(6), sent_as(7)]
    assert rooms.gap_after(ROOM.id) is None


def test_live_messages_are_held_during_a_recovery_then_released_after_it() -> None:
    rooms, sent, _ = cursors()
    rooms.enter(ROOM)
    for offset in (3, 4, 5):  # live during the recovery, some of them read by it too
        assert rooms.offer(ROOM.id, offset, frame(offset))
    assert sent == []
    rooms.recovered(ROOM.id, 3)  # the recovery sent 1..3 itself
    assert sent == [sent_as(4), sent_as(5)]


def test_a_recovery_fills_a_gap_and_releases_what_waited() -> None:
    rooms, sent, gaps = cursors()
    live(rooms, after=1)
    rooms.offer(ROOM.id, 4, frame(4))
    assert rooms.hold(ROOM.id)
    rooms.offer(ROOM.id, 5, frame(5))
    rooms.recovered(ROOM.id, 3)  # read 2 and 3 from the store
    assert sent == [sent_as(4), sent_as(5)]
    assert rooms.gap_after(ROOM.id) is None and gaps == [ROOM.id]


def test_one_recovery_at_a_time_and_a_gap_left_open_is_reported_again() -> None:
    """Two recoveries at once would both send the missed messages: a gap found while one
    runs waits for it, and is reported again if the recovery did not fill it."""
    rooms, sent, gaps = cursors()
    live(rooms, after=1)
    rooms.offer(ROOM.id, 4, frame(4))  # 2 and 3 missing: a gap
    assert gaps == [ROOM.id]
    assert rooms.hold(ROOM.id)
    assert not rooms.hold(ROOM.id)  # a second recovery of the same room is refused
    rooms.offer(ROOM.id, 7, frame(7))  # held meanwhile
    rooms.recovered(ROOM.id, 3)  # filled 2..3; 5 and 6 are still missing
    assert sent == [sent_as(4)]
    assert gaps == [ROOM.id, ROOM.id] and rooms.gap_after(ROOM.id) == 4
    assert rooms.hold(ROOM.id)  # free again for the next recovery


def test_full_buffers_refuse_and_unknown_rooms_take_nothing() -> None:
    rooms, sent, _ = cursors(capacity=1)
    assert rooms.offer(uuid.uuid4(), 1, frame(1))  # not subscribed: ignored
    rooms.enter(ROOM)
    for offset in range(1, 9):
        assert rooms.offer(ROOM.id, offset, frame(offset))
    assert not rooms.offer(ROOM.id, 9, frame(9))  # held: at most 8
    live(rooms)
    assert sent == [sent_as(1)]
    assert not rooms.offer(ROOM.id, 10, frame(10)) or len(sent) == 1
    rooms.leave(ROOM.id)
    assert ROOM.id not in rooms and len(rooms) == 0
    assert not rooms.hold(ROOM.id) and rooms.gap_after(ROOM.id) is None
