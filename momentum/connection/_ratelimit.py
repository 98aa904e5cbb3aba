"""Per-connection rate limiting: a token bucket on the Trio clock."""

from __future__ import annotations

#: Refusals are counted over windows of this many seconds to tell a flood from a burst.
FLOOD_WINDOW = 10.0


class TokenBucket:
    """`rate` messages per second on average, `burst` at once; rate <= 0 disables it.

    `strikes` counts the messages refused in the current `FLOOD_WINDOW`. A client refused
    more than `burst` times within one window is flooding — sustained sending well above
    the rate, whether or not some messages still get through — and the connection closes it
    with 4008. Allowed messages do not reset the count: alternating one allowed message
    with many refused ones is still a flood.
    """

    __slots__ = ("_last", "_tokens", "_window_start", "burst", "rate", "strikes")

    def __init__(self, rate: float, burst: int, *, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._last = now
        self._window_start = now
        self.strikes = 0

    def allow(self, now: float) -> bool:
        if self.rate <= 0:
            return True
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        if now - self._window_start >= FLOOD_WINDOW:
            self._window_start, self.strikes = now, 0
        self.strikes += 1
        return False

    @property
    def flooding(self) -> bool:
        return self.strikes > self.burst
