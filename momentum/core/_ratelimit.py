"""Per-connection rate limiting: a token bucket on the Trio clock."""

from __future__ import annotations


class TokenBucket:
    """`rate` messages per second on average, `burst` at once; rate <= 0 disables it.

    `strikes` counts messages refused since the last one allowed: a client that keeps
    sending into a full stop (more than `burst` refusals in a row) is flooding, and the
    connection closes it with 4008.
    """

    __slots__ = ("_last", "_tokens", "burst", "rate", "strikes")

    def __init__(self, rate: float, burst: int, *, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._last = now
        self.strikes = 0

    def allow(self, now: float) -> bool:
        if self.rate <= 0:
            return True
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            self.strikes = 0
            return True
        self.strikes += 1
        return False

    @property
    def flooding(self) -> bool:
        return self.strikes > self.burst
