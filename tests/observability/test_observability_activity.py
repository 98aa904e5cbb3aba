"""The operator's log: forced closes and refused handshakes summed up per interval, and a
store outage told in two lines (down, back) however many operations fail in between.

Rules: no server; Trio's autojump clock for the intervals; log lines read with caplog.
"""

from __future__ import annotations

import logging

import pytest
import trio

from momentum.observability import Activity, Metrics, report_activity
from momentum.protocol import CloseCode
from momentum.storage._outage import Outage


def test_a_summary_counts_forced_closes_and_refusals_then_starts_over() -> None:
    activity = Activity()
    assert activity.take_summary() is None
    for _ in range(3):
        activity.connection_closed(CloseCode.SLOW_CONSUMER)
    activity.connection_closed(CloseCode.RATE_LIMITED)
    for ordinary in (CloseCode.NORMAL, CloseCode.GOING_AWAY, 1006, 3000):
        activity.connection_closed(ordinary)  # a client leaving is not news
    activity.handshake_refused("forbidden_origin")
    assert activity.take_summary() == (
        "4 connections closed by the server (4009 slow consumer 3, 4008 rate limited 1); "
        "1 handshake refused (forbidden_origin 1)"
    )
    assert activity.take_summary() is None


def test_connections_the_listener_turned_away_lead_the_summary() -> None:
    metrics = Metrics()
    for _ in range(3):
        metrics.connection_refused("pending_heads_per_ip")
    metrics.connection_refused("http_per_ip")
    metrics.handshake_refused("forbidden_origin")
    assert metrics.activity.take_summary() == (
        "4 connections turned away (pending_heads_per_ip 3, http_per_ip 1); "
        "1 handshake refused (forbidden_origin 1)"
    )
    assert metrics.activity.take_summary() is None


def test_metrics_feed_the_summary() -> None:
    metrics = Metrics()
    metrics.connection_closed(CloseCode.USER_DISABLED)
    metrics.handshake_refused("bad_token")
    assert metrics.activity.take_summary() == (
        "1 connection closed by the server (4003 user disabled 1); "
        "1 handshake refused (bad_token 1)"
    )


async def test_one_line_per_interval_with_something_to_say(
    autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="momentum.activity")
    activity = Activity()
    async with trio.open_nursery() as nursery:
        await nursery.start(report_activity, activity, 60.0)
        await trio.sleep(61)  # a quiet minute: nothing
        assert caplog.records == []
        for _ in range(100):
            activity.connection_closed(CloseCode.RATE_LIMITED)
        await trio.sleep(60)
        nursery.cancel_scope.cancel()
    [line] = [r.getMessage() for r in caplog.records]
    assert line == "last 60 s: 100 connections closed by the server (4008 rate limited 100)"


async def test_an_outage_is_two_lines_and_every_failure_is_counted(
    autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="test.outage")
    failures = []
    outage = Outage(logging.getLogger("test.outage"), lambda: failures.append(1))
    outage.answered()  # nothing to say while it is up
    for n in range(50):
        outage.failed(f"could not store {n} message(s)", OSError("connection refused"))
        await trio.sleep(0.1)
    outage.answered()
    outage.answered()
    assert len(failures) == 50
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "storage down: could not store 0 message(s): connection refused"),
        ("INFO", "storage back after 5.0 s (50 operation(s) failed meanwhile)"),
    ]
