"""The dashboard's figures over the last minutes: delivery-latency percentiles and errors.

Prometheus counters and histograms only grow. The feed's stream keeps their totals for
the last `ERRORS_WINDOW` seconds (one sample a second) and shows the difference between now
and the oldest sample in each window: the latency histogram over `LATENCY_WINDOW`, the
error counts over `ERRORS_WINDOW`. Percentiles are estimated like PromQL's
`histogram_quantile`: linearly inside the bucket the rank falls in.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Mapping
from typing import Any

from prometheus_client import Counter, Histogram

from ..observability import Metrics

LATENCY_WINDOW = 60.0  # seconds
ERRORS_WINDOW = 300.0
PERCENTILES = (0.5, 0.9, 0.99)

Totals = dict[str, float]


def totals(
    metrics: Metrics, hub_errors: int, restarts: Mapping[str, int], broker_failures: int
) -> Totals:
    """Every cumulative figure the windows need, flat: `le:<bound>` latency buckets,
    `envelope:<code>` error envelopes, `internal`, `store`, `broker`."""
    flat: Totals = {f"le:{bound}": count for bound, count in _buckets(metrics.delivery_latency)}
    for code, count in by_label(metrics.error_envelopes, "code").items():
        flat[f"envelope:{code}"] = count
    internal_closes = by_label(metrics.closes, "code").get("1011", 0)
    flat["internal"] = hub_errors + sum(restarts.values()) + internal_closes
    flat["store"] = by_label(metrics.storage_errors, None).get("", 0)
    flat["broker"] = broker_failures
    return flat


class RecentFigures:
    """Totals sampled by the feed, and what changed over each window."""

    def __init__(self) -> None:
        self._samples: collections.deque[tuple[float, Totals]] = collections.deque()

    def add(self, at: float, now: Totals) -> dict[str, Any]:
        """Remember `now` (taken at `at`); the latency and errors panels' figures."""
        self._samples.append((at, now))
        while len(self._samples) > 1 and at - self._samples[1][0] >= ERRORS_WINDOW:
            self._samples.popleft()
        latency = _changed(now, self._base(at, LATENCY_WINDOW))
        errors = _changed(now, self._samples[0][1])
        return {"latency": latency_figures(latency), "errors": error_figures(errors)}

    def _base(self, at: float, window: float) -> Totals:
        """The newest sample at least `window` old (the oldest if none is)."""
        base = self._samples[0][1]
        for then, sample in self._samples:
            if at - then < window:
                break
            base = sample
        return base


def latency_figures(changed: Totals) -> dict[str, Any]:
    """Percentiles (in milliseconds) of the deliveries of the last `LATENCY_WINDOW`."""
    buckets = sorted(
        (float(key.removeprefix("le:")), count)
        for key, count in changed.items()
        if key.startswith("le:")
    )
    observed = buckets[-1][1] if buckets else 0.0
    figures: dict[str, Any] = {"window_seconds": LATENCY_WINDOW, "count": int(observed)}
    for q in PERCENTILES:
        value = quantile(q, buckets)
        figures[f"p{round(q * 100)}_ms"] = None if value is None else round(value * 1000, 3)
    return figures


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The `q` quantile of cumulative `(upper bound, count)` buckets; None with no data.

    A rank in the `+Inf` bucket answers the highest finite bound, as PromQL does."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def error_figures(changed: Totals) -> dict[str, Any]:
    envelopes = {
        key.removeprefix("envelope:"): int(count)
        for key, count in sorted(changed.items())
        if key.startswith("envelope:") and count > 0
    }
    return {
        "window_seconds": ERRORS_WINDOW,
        "envelopes": envelopes,
        "internal": int(changed.get("internal", 0)),
        "store": int(changed.get("store", 0)),
        "broker": int(changed.get("broker", 0)),
    }


def _changed(now: Totals, before: Totals) -> Totals:
    return {key: value - before.get(key, 0.0) for key, value in now.items()}


def _buckets(histogram: Histogram) -> list[tuple[float, float]]:
    return [
        (float(sample.labels["le"]), sample.value)
        for metric in histogram.collect()
        for sample in metric.samples
        if sample.name.endswith("_bucket")
    ]


def by_label(counter: Counter, label: str | None) -> dict[str, int]:
    """A prometheus counter's totals by the label's value (`""` for an unlabelled one)."""
    return {
        (sample.labels[label] if label else ""): int(sample.value)
        for metric in counter.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    }
