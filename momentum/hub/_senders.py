"""What one user may publish, all its connections and HTTP requests together.

Each connection has its own rate limit (the connection's token bucket), so a user with ten
connections could send ten times as much — a broadcast reaches every connection of the
server, so ten times the fan-out. The hub sees every message a user publishes, through any
connection or `POST /ws/send`, and keeps one token bucket per user here. In a cluster each
node keeps its own: a user is limited per node.
"""

from __future__ import annotations

import uuid

from ..auth import BucketPolicy, KeyedBuckets

#: Users whose buckets are remembered at most (past it the least recent is forgiven).
MAX_USERS = 1_000_000


class SenderLimits:
    """`rate` messages per second per user on average, `burst` at once; rate <= 0: no limit.

    Owned by the hub: only its task calls it.
    """

    __slots__ = ("_buckets",)

    def __init__(self, rate: float, burst: int) -> None:
        self._buckets: KeyedBuckets[uuid.UUID] | None = None
        if rate > 0:
            policy = BucketPolicy(burst=burst, refill=1 / rate)
            self._buckets = KeyedBuckets(policy, max_keys=MAX_USERS)

    def wait_for(self, user_id: uuid.UUID, now: float) -> float:
        """Take a token for one message of `user_id`: 0.0 if it may go now, else how many
        seconds until it could."""
        return 0.0 if self._buckets is None else self._buckets.take(user_id, now)

    def forget_idle(self, now: float) -> None:
        """Drop the buckets that have filled up again: they hold nothing to remember."""
        if self._buckets is not None:
            self._buckets.forget_untouched(now)

    def __len__(self) -> int:
        return 0 if self._buckets is None else len(self._buckets)
