"""A bounded memory of ids seen lately."""

from __future__ import annotations

from collections import deque


class RecentIds:
    """The last `size` ids seen, for membership tests."""

    __slots__ = ("_order", "_seen", "_size")

    def __init__(self, size: int) -> None:
        self._size = size
        self._order: deque[str] = deque()
        self._seen: set[str] = set()

    def remember(self, message_id: str) -> None:
        if message_id in self._seen:
            return
        self._order.append(message_id)
        self._seen.add(message_id)
        if len(self._order) > self._size:
            self._seen.discard(self._order.popleft())

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._seen
