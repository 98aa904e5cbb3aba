"""Latency percentiles and counters that merge across connections and worker processes.

Percentiles are always computed on the merged samples (nearest-rank), never averaged
across workers: the p99 of two halves is not the average of their p99s.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def percentile(ordered: Sequence[float], p: float) -> float:
    """The nearest-rank `p`-th percentile (0 < p <= 100) of an ascending, non-empty sequence."""
    if not ordered:
        raise ValueError("percentile of no samples")
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """p50/p90/p99/max and mean of a set of samples, in milliseconds."""

    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, samples_ms: Iterable[float]) -> LatencySummary | None:
        ordered = sorted(samples_ms)
        if not ordered:
            return None
        return cls(
            count=len(ordered),
            mean=sum(ordered) / len(ordered),
            p50=percentile(ordered, 50),
            p90=percentile(ordered, 90),
            p99=percentile(ordered, 99),
            max=ordered[-1],
        )

    def as_json(self) -> dict[str, float | int]:
        return {
            "count": self.count,
            "mean": round(self.mean, 3),
            "p50": round(self.p50, 3),
            "p90": round(self.p90, 3),
            "p99": round(self.p99, 3),
            "max": round(self.max, 3),
        }


class Tally:
    """What one load generator (a process) counted: plain numbers, samples in microseconds.

    Mutated by many tasks of one Trio run (no threads), so no locking. Samples are whole
    microseconds to keep a worker's JSON small.
    """

    def __init__(self) -> None:
        self.attempted = 0
        self.opened = 0
        self.sent = 0
        self.received = 0
        self.acked = 0
        self.refused = 0  # error envelopes: frames the server answered without routing
        self.expected = 0  # messages the server's acks said were delivered live
        self.errors: Counter[str] = Counter()
        self.connect_us: list[int] = []
        self.message_us: list[int] = []

    def error(self, kind: str) -> None:
        self.errors[kind] += 1

    def settled(self, *, answers: bool) -> bool:
        """Nothing more is coming. For pings (no `answers`): every pong is in. For messages:
        every one was acked or refused, and every delivery the acks announced arrived."""
        if not answers:
            return self.received >= self.sent
        return self.acked + self.refused >= self.sent and self.received >= self.expected

    def progress(self) -> dict[str, int]:
        """A snapshot of the counters (no samples): what a progress bar shows."""
        return {
            "attempted": self.attempted,
            "opened": self.opened,
            "sent": self.sent,
            "received": self.received,
            "errors": sum(self.errors.values()),
        }

    def as_json(self) -> dict[str, object]:
        return {
            "attempted": self.attempted,
            "opened": self.opened,
            "sent": self.sent,
            "received": self.received,
            "acked": self.acked,
            "refused": self.refused,
            "errors": dict(self.errors),
            "connect_us": self.connect_us,
            "message_us": self.message_us,
        }

    @classmethod
    def merged(cls, parts: Iterable[Tally]) -> Tally:
        total = cls()
        for part in parts:
            total.attempted += part.attempted
            total.opened += part.opened
            total.sent += part.sent
            total.received += part.received
            total.acked += part.acked
            total.refused += part.refused
            total.errors.update(part.errors)
            total.connect_us.extend(part.connect_us)
            total.message_us.extend(part.message_us)
        return total

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> Tally:
        tally = cls()
        for name in ("attempted", "opened", "sent", "received", "acked", "refused"):
            value = raw.get(name, 0)
            setattr(tally, name, int(value) if isinstance(value, int) else 0)
        errors = raw.get("errors", {})
        if isinstance(errors, dict):
            tally.errors.update({str(k): int(v) for k, v in errors.items()})
        for name in ("connect_us", "message_us"):
            samples = raw.get(name, [])
            if isinstance(samples, list):
                getattr(tally, name).extend(int(x) for x in samples)
        return tally
