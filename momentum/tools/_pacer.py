"""Pacing what a connection sends to the server's per-connection rate limit.

The server gives each connection a token bucket (`WS_RATE_LIMIT` frames per second,
`WS_RATE_BURST` at once; 20 and 40 by default) and refuses a frame that finds it empty
(`rate_limited`), closing the connection with 4008 after more than `WS_RATE_BURST`
refusals within 10 s. Every frame takes a token: messages, acks and JSON pings alike. So
the tools send every frame through a `Pacer`, a token bucket of their own that refills at
the server's rate and holds half its burst: the other half absorbs the jitter between when
a frame is sent and when the server reads it (a second of it at the defaults).
"""

from __future__ import annotations

import trio

#: The server's defaults (`momentum/config.py`): what the tools assume unless told.
SERVER_RATE_LIMIT = 20.0
SERVER_RATE_BURST = 40


class Pacer:
    """At most `rate` frames per second on average, `burst` at once; `rate <= 0` is unpaced.

    Kept as the time the bucket would next be full (GCRA, equivalent to a token bucket), so
    tasks sharing one pacer (a sender and an acknowledger) each reserve their slot before
    sleeping and never take the same token twice.
    """

    __slots__ = ("_full_at", "_interval", "_tolerance", "burst", "rate")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._interval = 1 / rate if rate > 0 else 0.0
        self._tolerance = (self.burst - 1) * self._interval
        self._full_at = -float("inf")

    @classmethod
    def for_server(cls, rate_limit: float, rate_burst: int) -> Pacer:
        """A pacer that stays under a server's `WS_RATE_LIMIT` / `WS_RATE_BURST`."""
        return cls(rate_limit, max(1, rate_burst // 2))

    @property
    def paced(self) -> bool:
        return self.rate > 0

    def reserve(self, now: float) -> float:
        """Take the next token; the time at which the frame may be sent (>= `now`)."""
        if self.rate <= 0:
            return now
        send_at = max(now, self._full_at - self._tolerance)
        self._full_at = max(self._full_at, send_at) + self._interval
        return send_at

    async def wait(self) -> None:
        """Return when one more frame may be sent."""
        await trio.sleep_until(self.reserve(trio.current_time()))
