"""What one user may publish, all its connections and HTTP requests together.

Each connection has its own rate limit (the connection's token bucket), so a user with ten
connections could send ten times as much — a broadcast reaches every connection of the
server, so ten times the fan-out. The hub sees every message a user publishes, through any
connection or `POST /ws/send`, and keeps one token bucket per user here. In a cluster each
node keeps its own: a user is limited per node.
"""

from __future__ import annotations

import uuid


class SenderLimits:
    """`rate` messages per second per user on average, `burst` at once; rate <= 0: no limit.

    Owned by the hub: only its task calls it.
    """

    __slots__ = ("_buckets", "burst", "rate")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[uuid.UUID, tuple[float, float]] = {}  # user: tokens, as of when

    def wait_for(self, user_id: uuid.UUID, now: float) -> float:
        """Take a token for one message of `user_id`: 0.0 if it may go now, else how many
        seconds until it could."""
        if self.rate <= 0:
            return 0.0
        tokens, since = self._buckets.get(user_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - since) * self.rate)
        if tokens >= 1:
            self._buckets[user_id] = (tokens - 1, now)
            return 0.0
        self._buckets[user_id] = (tokens, now)
        return (1 - tokens) / self.rate

    def forget_idle(self, now: float) -> None:
        """Drop the buckets that have filled up again: they hold nothing to remember."""
        full = self.burst / self.rate if self.rate > 0 else 0.0
        for user_id in [u for u, (_, since) in self._buckets.items() if now - since >= full]:
            del self._buckets[user_id]

    def __len__(self) -> int:
        return len(self._buckets)
