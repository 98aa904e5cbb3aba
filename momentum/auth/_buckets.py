"""Token buckets by key (an account, a client address), in a table of bounded size.

A bucket holds up to `burst` attempts and regains one every `refill` seconds. A key that
is not in the table has a full bucket, so forgetting a key is always safe: it only forgives.
That is what bounds memory: past `max_keys` the least recently used key is forgotten.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class BucketPolicy:
    """`burst` attempts at once, then one more every `refill` seconds."""

    burst: int
    refill: float


class KeyedBuckets(Generic[K]):
    """One token bucket per key, on a clock the caller passes (Trio time)."""

    __slots__ = ("_max_keys", "_table", "policy")

    def __init__(self, policy: BucketPolicy, *, max_keys: int) -> None:
        if policy.burst < 1 or policy.refill <= 0 or max_keys < 1:
            raise ValueError("a bucket needs burst >= 1, refill > 0 and max_keys >= 1")
        self.policy = policy
        self._max_keys = max_keys
        self._table: OrderedDict[K, tuple[float, float]] = OrderedDict()  # key: tokens, when

    def __len__(self) -> int:
        return len(self._table)

    def take(self, key: K, now: float) -> float:
        """Take one attempt from `key`'s bucket: 0.0 if there was one, else how many
        seconds until there is (nothing is taken then)."""
        tokens = self._tokens(key, now)
        if tokens >= 1:
            self._store(key, tokens - 1, now)
            return 0.0
        self._store(key, tokens, now)
        return (1 - tokens) * self.policy.refill

    def give_back(self, key: K, now: float) -> None:
        """Return an attempt taken from `key` (it turned out not to count)."""
        self._store(key, min(self.policy.burst, self._tokens(key, now) + 1), now)

    def forget_untouched(self, now: float) -> None:
        """Forget the keys untouched for as long as an empty bucket takes to fill: they are
        full again (a table swept this way stays small between the `max_keys` bounds)."""
        idle = self.policy.burst * self.policy.refill
        for key in [k for k, (_, then) in self._table.items() if now - then >= idle]:
            del self._table[key]

    def _tokens(self, key: K, now: float) -> float:
        found = self._table.get(key)
        if found is None:
            return float(self.policy.burst)
        tokens, then = found
        return min(float(self.policy.burst), tokens + max(0.0, now - then) / self.policy.refill)

    def _store(self, key: K, tokens: float, now: float) -> None:
        if tokens >= self.policy.burst:
            self._table.pop(key, None)  # a full bucket is the same as no entry
            return
        self._table[key] = (tokens, now)
        self._table.move_to_end(key)
        while len(self._table) > self._max_keys:
            self._table.popitem(last=False)


def retry_after(seconds: float) -> str:
    """A `Retry-After` header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
