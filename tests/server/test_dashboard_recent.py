"""The dashboard's windows: latency percentiles from histogram buckets, errors over the last
minutes. Rules: pure functions and `RecentFigures` with explicit times (no clock, no awaits)."""

from __future__ import annotations

import math

from momentum.http._dashboard_recent import (
    ERRORS_WINDOW,
    LATENCY_WINDOW,
    RecentFigures,
    quantile,
)

INF = math.inf


def test_quantiles_interpolate_inside_a_bucket_like_promql() -> None:
    buckets = [(0.001, 50.0), (0.01, 90.0), (0.1, 100.0), (INF, 100.0)]
    assert quantile(0.5, buckets) == 0.001
    assert quantile(0.25, buckets) == 0.0005  # halfway through the first bucket
    assert math.isclose(quantile(0.7, buckets) or 0, 0.0055)
    assert math.isclose(quantile(0.99, buckets) or 0, 0.01 + 0.09 * 0.9)
    assert quantile(0.5, [(0.1, 0.0), (INF, 0.0)]) is None  # nothing observed
    assert quantile(0.99, [(0.1, 1.0), (INF, 10.0)]) == 0.1  # past the last finite bound


def totals(latency_counts: tuple[float, float], envelopes: int, store: int) -> dict[str, float]:
    fast, all_ = latency_counts
    return {
        "le:0.001": fast,
        "le:inf": all_,
        "envelope:rate_limited": envelopes,
        "internal": 0,
        "store": store,
        "broker": 0,
    }


def test_each_panel_shows_its_own_window() -> None:
    recent = RecentFigures()
    recent.add(0.0, totals((0, 0), envelopes=0, store=0))
    recent.add(10.0, totals((0, 100), envelopes=3, store=1))  # 100 slow deliveries
    now = recent.add(10.0 + LATENCY_WINDOW + 1, totals((100, 200), envelopes=5, store=1))
    # latency: only the last minute's 100 fast deliveries
    assert now["latency"]["count"] == 100
    assert now["latency"]["p99_ms"] is not None and now["latency"]["p99_ms"] <= 1.0
    # errors: everything since the start, still within ERRORS_WINDOW
    assert now["errors"]["envelopes"] == {"rate_limited": 5}
    assert now["errors"]["store"] == 1
    last = 10.0 + LATENCY_WINDOW + 1
    later = recent.add(last + ERRORS_WINDOW, totals((100, 200), envelopes=5, store=1))
    assert later["errors"]["envelopes"] == {} and later["errors"]["store"] == 0
    assert later["latency"]["count"] == 0 and later["latency"]["p50_ms"] is None
