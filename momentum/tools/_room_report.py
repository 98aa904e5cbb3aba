"""The summary of a room run: deliveries, latency, and what went wrong, counted by offset."""

from __future__ import annotations

from dataclasses import asdict
from itertools import pairwise
from typing import Any

from rich.console import Console

from ._outcome import EXIT_FAILED, EXIT_PASSED, EXIT_RATE_LIMITED, rate_limited
from ._room_load import RoomRun, Subscriber
from ._stats import LatencySummary


def summarize(run: RoomRun) -> dict[str, Any]:
    plan, tally = run.plan, run.tally
    subscribers = tally.subscribers
    due = set(range(1, plan.messages + 1))
    received = sum(len(set(s.offsets) & due) for s in subscribers)
    expected = plan.rooms * plan.subscribers * plan.messages
    span = (tally.last_received_ns - tally.first_sent_ns) / 1e9
    counts = {
        "expected": expected,
        "received": received,
        "gaps": expected - received,
        "duplicates": sum(len(s.offsets) - len(set(s.offsets)) for s in subscribers),
        "out_of_order": sum(_out_of_order(s) for s in subscribers),
        "published": tally.published,
        "acked": tally.acked,
    }
    summary: dict[str, Any] = {
        "test_type": plan.test_type,
        "settings": asdict(plan),
        "connections": {"opened": tally.connections, "failed": tally.failed},
        "connect_seconds": round(run.connect_seconds, 3),
        "message_seconds": round(run.message_seconds, 3),
        "messages": counts,
        "deliveries_per_second": round(received / span, 1) if span > 0 and received else 0.0,
        "latency_ms": _latency([u / 1000 for s in subscribers for u in s.latency_us]),
        "errors": dict(tally.errors),
    }
    if plan.test_type == "room-recovery":
        summary["recovery_ms"] = _latency(_times(subscribers, "recovered_ms"))
        summary["complete_ms"] = _latency(_times(subscribers, "complete_ms"))
        summary["not_recovered"] = sum(1 for s in subscribers if s.recovered is not True)
    clean = not any(counts[k] for k in ("gaps", "duplicates", "out_of_order"))
    clean = clean and not tally.failed and not tally.errors and tally.acked == expected_acks(run)
    clean = clean and not summary.get("not_recovered")
    summary["verdict"], summary["exit_status"] = _verdict(clean, tally.errors)
    return summary


def expected_acks(run: RoomRun) -> int:
    return run.plan.rooms * run.plan.messages


def _out_of_order(subscriber: Subscriber) -> int:
    return sum(1 for a, b in pairwise(subscriber.offsets) if b < a)


def _times(subscribers: list[Subscriber], name: str) -> list[float]:
    return [t for s in subscribers if (t := getattr(s, name)) is not None]


def _latency(samples_ms: list[float]) -> dict[str, float] | None:
    found = LatencySummary.of(samples_ms)
    return None if found is None else {k: round(v, 2) for k, v in asdict(found).items()}


def _verdict(clean: bool, errors: dict[str, int]) -> tuple[str, int]:
    if clean:
        return "passed", EXIT_PASSED
    if rate_limited(errors):
        return "rate_limited", EXIT_RATE_LIMITED
    return "failed", EXIT_FAILED


def print_room_summary(summary: dict[str, Any], console: Console) -> None:
    counts = summary["messages"]
    console.print(f"momentum stress — {summary['test_type']} — {summary['verdict']}")
    console.print(
        f"connections: {summary['connections']['opened']} opened, "
        f"{summary['connections']['failed']} failed in {summary['connect_seconds']} s"
    )
    console.print(
        f"room messages: {counts['published']} published, {counts['acked']} acked; "
        f"{counts['received']} of {counts['expected']} deliveries in "
        f"{summary['message_seconds']} s ({summary['deliveries_per_second']}/s)"
    )
    console.print(
        f"by offset: {counts['gaps']} gap(s), {counts['duplicates']} duplicate(s), "
        f"{counts['out_of_order']} out of order"
    )
    for name in ("latency_ms", "recovery_ms", "complete_ms"):
        found = summary.get(name)
        if found:
            console.print(
                f"{name}: p50 {found['p50']} p90 {found['p90']} p99 {found['p99']} "
                f"max {found['max']} ({found['count']} samples)"
            )
    for kind, count in sorted(summary["errors"].items()):
        console.print(f"error {kind}: {count}")
