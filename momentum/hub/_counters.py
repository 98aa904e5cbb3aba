"""The hub's counters, message rates sampled on its ticker, and its statistics snapshot."""

from __future__ import annotations

import collections
import dataclasses
from dataclasses import dataclass
from typing import Any

RATE_WINDOW = 10.0


class Counters:
    """Plain integers bumped on the hot path; read by stats and metrics on demand."""

    __slots__ = (
        "_samples",
        "connections_opened",
        "deliveries",
        "deliveries_by_type",
        "drops",
        "messages_in",
        "peak_connections",
        "presence_frames",
    )

    def __init__(self) -> None:
        self.connections_opened = 0
        self.peak_connections = 0
        self.messages_in: collections.Counter[str] = collections.Counter()
        self.deliveries = 0  # frames handed to connections
        self.deliveries_by_type: collections.Counter[str] = collections.Counter()
        self.drops: collections.Counter[str] = collections.Counter()
        self.presence_frames = 0
        self._samples: collections.deque[tuple[float, int, int]] = collections.deque()

    def sample(self, now: float) -> None:
        """Remember the totals at `now`, keeping RATE_WINDOW seconds of samples."""
        self._samples.append((now, self.messages_in.total(), self.deliveries))
        while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW:
            self._samples.popleft()

    def rates(self) -> tuple[float, float]:
        """Messages in and deliveries per second over the sampled window."""
        if len(self._samples) < 2:
            return 0.0, 0.0
        (t0, in0, out0), (t1, in1, out1) = self._samples[0], self._samples[-1]
        span = t1 - t0
        if span <= 0:
            return 0.0, 0.0
        return (in1 - in0) / span, (out1 - out0) / span

    def snapshot(self, **live: Any) -> HubStats:
        """The counters now, with the hub's live figures (`live`: HubStats' first fields)."""
        rate_in, rate_out = self.rates()
        return HubStats(
            **live,
            connections_opened=self.connections_opened,
            peak_connections=self.peak_connections,
            messages_received=self.messages_in.total(),
            messages_by_type=dict(self.messages_in),
            deliveries=self.deliveries,
            deliveries_by_type=dict(self.deliveries_by_type),
            drops=dict(self.drops),
            presence_frames=self.presence_frames,
            messages_per_second=round(rate_in, 2),
            deliveries_per_second=round(rate_out, 2),
        )


@dataclass(frozen=True, slots=True)
class HubStats:
    """The hub's statistics at one moment (`GET /ws/stats`, `/metrics`, shutdown)."""

    total_connections: int
    unique_users: int
    server_uptime: int
    broker: str
    hub_errors: int
    connections_opened: int
    peak_connections: int
    messages_received: int
    messages_by_type: dict[str, int]
    deliveries: int
    deliveries_by_type: dict[str, int]
    drops: dict[str, int]
    presence_frames: int
    messages_per_second: float
    deliveries_per_second: float

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
