"""Connection slots held for handshakes in flight: numbered, and each one expiring."""

from __future__ import annotations

import uuid


class Reservations:
    """The hub's reservations: a slot is taken before a handshake is accepted and given back
    by `Join` or `Release` — or, if neither comes (the handshake's caller timed out or was
    cancelled), by `expire` once its time is up."""

    __slots__ = ("_by_number", "_last", "_per_user", "ttl")

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._by_number: dict[int, tuple[uuid.UUID, float]] = {}  # number: (user, expiry)
        self._per_user: dict[uuid.UUID, int] = {}
        self._last = 0

    def __len__(self) -> int:
        return len(self._by_number)

    def held_by(self, user_id: uuid.UUID) -> int:
        return self._per_user.get(user_id, 0)

    def take(self, user_id: uuid.UUID, *, now: float) -> int:
        self._last += 1
        self._by_number[self._last] = (user_id, now + self.ttl)
        self._per_user[user_id] = self._per_user.get(user_id, 0) + 1
        return self._last

    def give_back(self, number: int) -> None:
        """Idempotent: a number given back twice, or expired, is ignored."""
        found = self._by_number.pop(number, None)
        if found is None:
            return
        user_id = found[0]
        left = self._per_user[user_id] - 1
        if left:
            self._per_user[user_id] = left
        else:
            del self._per_user[user_id]

    def expire(self, now: float) -> None:
        for number in [n for n, (_, expiry) in self._by_number.items() if expiry < now]:
            self.give_back(number)
