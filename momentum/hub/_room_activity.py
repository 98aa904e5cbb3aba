"""Which rooms are busiest on this node: by subscribers, and by messages per second.

Owned by the hub's task. A room message costs one dictionary increment (`record`); the
rates are the counts of the last whole window (`WINDOW`) divided by its length, so only
the rooms that had a message in the last two windows are remembered at all.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

WINDOW = 5.0  # seconds

#: Most rooms a `BusiestRooms` lists in each of its two rankings.
MAX_LISTED = 20


@dataclass(frozen=True, slots=True)
class RoomFigures:
    room_id: uuid.UUID
    subscribers: int  # this node's connections subscribed to it
    messages_per_second: float  # room messages delivered here, over the last whole window


@dataclass(frozen=True, slots=True)
class BusiestRooms:
    """The rooms with most subscribers, and those with most messages per second."""

    by_subscribers: tuple[RoomFigures, ...]
    by_messages: tuple[RoomFigures, ...]


class RoomActivity:
    """Room messages counted per window of `WINDOW` seconds."""

    __slots__ = ("_current", "_previous", "_span", "_started")

    def __init__(self, now: float) -> None:
        self._current: collections.Counter[uuid.UUID] = collections.Counter()
        self._previous: collections.Counter[uuid.UUID] = collections.Counter()
        self._started = now
        self._span = 0.0  # the previous window's length (0: there is none yet)

    def record(self, room_id: uuid.UUID) -> None:
        self._current[room_id] += 1

    def rotate(self, now: float) -> None:
        """Start a new window once the current one is `WINDOW` long (the hub's tick)."""
        if now - self._started < WINDOW:
            return
        self._previous, self._current = self._current, collections.Counter()
        self._span, self._started = now - self._started, now

    def rate(self, room_id: uuid.UUID) -> float:
        if self._span <= 0:
            return 0.0
        return round(self._previous[room_id] / self._span, 2)

    def busiest(
        self, subscribers: Mapping[uuid.UUID, int], now: float, limit: int = MAX_LISTED
    ) -> BusiestRooms:
        """The top `limit` rooms both ways; `subscribers`: each room's count on this node."""
        self.rotate(now)

        def figures(room_id: uuid.UUID) -> RoomFigures:
            return RoomFigures(room_id, subscribers.get(room_id, 0), self.rate(room_id))

        crowded = sorted(subscribers, key=lambda r: (-subscribers[r], str(r)))[:limit]
        active = [r for r, n in self._previous.most_common() if n > 0][:limit]
        return BusiestRooms(tuple(figures(r) for r in crowded), tuple(figures(r) for r in active))
