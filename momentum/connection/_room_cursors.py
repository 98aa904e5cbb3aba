"""Where a connection stands in each room it subscribes to, so that it sends every room
message once and in offset order.

A room's messages may reach a connection out of order (two publishers on two nodes commit
offsets 7 and 8, and 8 crosses Redis first) or twice (read back by a recovery and delivered
live during the switch-over). Each room's cursor knows the last offset sent: an older one is
dropped, the next one is sent (with any that waited behind it), a later one waits for the
gap to fill. A gap that does not fill by itself (a lost publish) is read from the store:
the connection is told once (`on_gap`) and runs a recovery. While a recovery reads the
store, the room's live messages are held, then sent after what it read.

Owned by the connection's `Handle`: the hub and the connection's tasks run on one thread
and none of these methods awaits, so no lock is needed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from ..protocol import Frame
from ..storage import Room


@dataclass(slots=True)
class RoomCursor:
    """One room of one connection. `room` is the record read when it subscribed (its
    limits); `sent` the last offset sent; `early` what waits for a gap to fill; `held`,
    while a recovery reads the store, the live messages in arrival order (None: live);
    `released`, set when that recovery ends (for a catch-up waiting its turn)."""

    room: Room
    sent: int = 0
    early: dict[int, Frame] = field(default_factory=dict)
    held: list[tuple[int, Frame]] | None = field(default_factory=list)
    gap_reported: bool = False
    released: trio.Event | None = None


class RoomCursors:
    """The cursors of one connection's rooms; frames go out through `emit`."""

    def __init__(
        self, emit: Callable[[Frame], bool], max_frames: int, on_gap: Callable[[uuid.UUID], None]
    ) -> None:
        self._emit = emit
        self._max_frames = max_frames
        self._on_gap = on_gap
        self._cursors: dict[uuid.UUID, RoomCursor] = {}

    def __len__(self) -> int:
        return len(self._cursors)

    def __contains__(self, room_id: object) -> bool:
        return room_id in self._cursors

    def get(self, room_id: uuid.UUID) -> RoomCursor | None:
        return self._cursors.get(room_id)

    def enter(self, room: Room) -> None:
        """Subscribe (or subscribe again): hold the room's live messages until `recovered`."""
        cursor = self._cursors.get(room.id)
        if cursor is None:
            self._cursors[room.id] = RoomCursor(room)
        else:
            cursor.room = room
            cursor.held = [] if cursor.held is None else cursor.held

    def hold(self, room_id: uuid.UUID) -> bool:
        """Hold the room's live messages for a recovery; False if not subscribed, or if a
        recovery holds them already: two at once would both send the same missed messages
        (the running one reports a gap still open when it ends, see `recovered`)."""
        cursor = self._cursors.get(room_id)
        if cursor is None or cursor.held is not None:
            return False
        cursor.held = []
        return True

    def leave(self, room_id: uuid.UUID) -> None:
        cursor = self._cursors.pop(room_id, None)
        if cursor is not None and cursor.released is not None:
            cursor.released.set()

    def room_ids(self) -> list[uuid.UUID]:
        return list(self._cursors)

    async def wait_released(self, room_id: uuid.UUID) -> None:
        """Wait until the room's running recovery (if any) has released its held messages,
        or the room is left."""
        cursor = self._cursors.get(room_id)
        if cursor is None or cursor.held is None:
            return
        if cursor.released is None:
            cursor.released = trio.Event()
        await cursor.released.wait()

    def offer(self, room_id: uuid.UUID, offset: int, frame: Frame) -> bool:
        """One live message of the room; False if it cannot be taken (the queue is full)."""
        cursor = self._cursors.get(room_id)
        if cursor is None:
            return True  # unsubscribed meanwhile: nothing to send
        if cursor.held is not None:
            if len(cursor.held) >= self._max_frames:
                return False
            cursor.held.append((offset, frame))
            return True
        return self._in_order(room_id, cursor, offset, frame)

    def recovered(self, room_id: uuid.UUID, sent: int) -> None:
        """The recovery sent everything up to `sent`: release what was held, in order."""
        cursor = self._cursors.get(room_id)
        if cursor is None:
            return
        cursor.sent = max(cursor.sent, sent)
        held, cursor.held = cursor.held or [], None
        if cursor.released is not None:
            cursor.released.set()
            cursor.released = None
        for offset in [o for o in cursor.early if o <= cursor.sent]:
            del cursor.early[offset]
        self._drain(cursor)
        cursor.gap_reported = True  # the held messages report no gap: it is checked below
        for offset, frame in held:
            self._in_order(room_id, cursor, offset, frame)
        cursor.gap_reported = bool(cursor.early)
        if cursor.early:  # a gap is still open: it gets its own recovery
            self._on_gap(room_id)

    def gap_after(self, room_id: uuid.UUID) -> int | None:
        """The last offset sent, if the room still waits for a gap to fill; else None."""
        cursor = self._cursors.get(room_id)
        if cursor is None or not cursor.early:
            return None
        return cursor.sent

    def _in_order(self, room_id: uuid.UUID, cursor: RoomCursor, offset: int, frame: Frame) -> bool:
        if offset <= cursor.sent:
            return True  # sent already
        if offset > cursor.sent + 1:
            if len(cursor.early) >= self._max_frames:
                return False
            cursor.early[offset] = frame
            if not cursor.gap_reported:
                cursor.gap_reported = True
                self._on_gap(room_id)
            return True
        if not self._emit(frame):
            return False
        cursor.sent = offset
        return self._drain(cursor)

    def _drain(self, cursor: RoomCursor) -> bool:
        """Send what waited behind the gap that just filled."""
        while (frame := cursor.early.pop(cursor.sent + 1, None)) is not None:
            if not self._emit(frame):
                return False
            cursor.sent += 1
        if not cursor.early:
            cursor.gap_reported = False
        return True
