"""Counters: totals, and message rates over the sampled window.

Rules of this module:
- Samples are taken at times chosen by the test (the hub passes Trio's clock), so these are
  sync tests with exact expected rates.
"""

from __future__ import annotations

import pytest

from momentum.hub._counters import RATE_WINDOW, Counters


def bump(counters: Counters, *, messages: int = 0, deliveries: int = 0) -> None:
    counters.messages_in["text"] += messages
    counters.deliveries += deliveries


def test_no_rate_before_two_samples() -> None:
    counters = Counters()
    assert counters.rates() == (0.0, 0.0)
    bump(counters, messages=5, deliveries=5)
    counters.sample(0.0)
    assert counters.rates() == (0.0, 0.0)


def test_rate_between_two_samples() -> None:
    counters = Counters()
    counters.sample(0.0)
    bump(counters, messages=10, deliveries=30)
    counters.sample(2.0)
    assert counters.rates() == (5.0, 15.0)


def test_rate_counts_every_message_type() -> None:
    counters = Counters()
    counters.sample(0.0)
    counters.messages_in["text"] += 3
    counters.messages_in["ping"] += 1
    counters.sample(1.0)
    assert counters.rates() == (4.0, 0.0)


def test_samples_at_the_same_time_give_no_rate() -> None:
    counters = Counters()
    counters.sample(3.0)
    bump(counters, messages=10)
    counters.sample(3.0)
    assert counters.rates() == (0.0, 0.0)


def test_old_samples_leave_the_window() -> None:
    assert RATE_WINDOW == 10.0
    counters = Counters()
    counters.sample(0.0)
    bump(counters, messages=1000)  # a burst long ago
    counters.sample(1.0)
    for t in range(2, 13):
        bump(counters, messages=10, deliveries=20)
        counters.sample(float(t))
    # At t=12 the samples from t=0 and t=1 are more than 10 s old: the window is 2..12.
    assert counters.rates() == (10.0, 20.0)


def test_window_keeps_two_samples_however_old() -> None:
    counters = Counters()
    counters.sample(0.0)
    bump(counters, messages=100)
    counters.sample(50.0)
    assert counters.rates() == (2.0, 0.0)


def test_sample_exactly_at_the_window_edge_stays() -> None:
    counters = Counters()
    counters.sample(0.0)
    counters.sample(5.0)
    bump(counters, messages=20)
    counters.sample(10.0)
    assert counters.rates() == (2.0, 0.0)  # over 0..10, not 5..10


def test_snapshot() -> None:
    counters = Counters()
    counters.connections_opened = 3
    counters.peak_connections = 2
    counters.presence_frames = 4
    counters.drops["slow_consumer"] += 1
    counters.sample(0.0)
    counters.messages_in["text"] += 2
    counters.messages_in["ping"] += 1
    counters.deliveries += 1
    counters.deliveries_by_type["text"] += 1
    counters.sample(3.0)
    live = {
        "total_connections": 2,
        "unique_users": 1,
        "server_uptime": 5,
        "broker": "local",
        "hub_errors": 0,
    }
    assert counters.snapshot(**live).as_json() == {
        **live,
        "connections_opened": 3,
        "peak_connections": 2,
        "messages_received": 3,
        "messages_by_type": {"text": 2, "ping": 1},
        "deliveries": 1,
        "deliveries_by_type": {"text": 1},
        "drops": {"slow_consumer": 1},
        "presence_frames": 4,
        "messages_per_second": 1.0,
        "deliveries_per_second": pytest.approx(0.33),
    }
