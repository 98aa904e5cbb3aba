"""The busiest rooms: by subscribers, and by messages per second over the last window.

Rules: the pure `RoomActivity` with explicit times (no clock, no awaits: no `fail_after`)."""

from __future__ import annotations

import uuid

from momentum.hub._room_activity import WINDOW, RoomActivity

QUIET, BUSY, CROWDED = (uuid.UUID(int=n) for n in (1, 2, 3))


def test_rates_come_from_the_last_whole_window() -> None:
    activity = RoomActivity(now=0.0)
    for _ in range(50):
        activity.record(BUSY)
    activity.record(QUIET)
    early = activity.busiest({BUSY: 1, QUIET: 1}, now=WINDOW / 2)
    assert early.by_messages == ()  # no whole window yet: no rate to show
    late = activity.busiest({BUSY: 1, QUIET: 1, CROWDED: 7}, now=WINDOW)
    assert [(r.room_id, r.messages_per_second) for r in late.by_messages] == [
        (BUSY, 50 / WINDOW),
        (QUIET, 1 / WINDOW),
    ]
    # most subscribers first; a tie in id order
    assert [(r.room_id, r.subscribers) for r in late.by_subscribers] == [
        (CROWDED, 7),
        (QUIET, 1),
        (BUSY, 1),
    ]


def test_a_room_silent_for_a_whole_window_is_forgotten() -> None:
    activity = RoomActivity(now=0.0)
    activity.record(BUSY)
    activity.rotate(WINDOW)
    assert activity.rate(BUSY) == round(1 / WINDOW, 2)
    activity.rotate(2 * WINDOW)
    assert activity.busiest({}, now=2 * WINDOW).by_messages == ()


def test_each_ranking_is_bounded() -> None:
    activity = RoomActivity(now=0.0)
    rooms = {uuid.uuid4(): n for n in range(1, 30)}
    for room, n in rooms.items():
        for _ in range(n):
            activity.record(room)
    busiest = activity.busiest(rooms, now=WINDOW, limit=3)
    assert [r.subscribers for r in busiest.by_subscribers] == [29, 28, 27]
    assert [r.messages_per_second for r in busiest.by_messages] == [
        round(n / WINDOW, 2) for n in (29, 28, 27)
    ]
