"""What the load tools print: the summary (a dict for `--json`, a rich table for people)
and the live progress bar."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import trio
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ._outcome import explanations, verdict
from ._stats import LatencySummary, Tally

#: How often the progress bar is redrawn.
REFRESH_INTERVAL = 0.1


def summarize(
    tally: Tally,
    *,
    test_type: str,
    connect_seconds: float,
    message_seconds: float,
    settings: Mapping[str, Any],
    min_success: float,
) -> dict[str, Any]:
    """The run's one JSON object. Invariant: `sent == received + lost`.

    `passed` says whether `min_success` was reached; `verdict` is "passed" only without any
    loss or failure ("accepted" when there were some, within `min_success`), else "failed"
    or "rate_limited"; `exit_status` is the tool's (see `_outcome`).
    """
    connect = LatencySummary.of(us / 1000 for us in tally.connect_us)
    latency = LatencySummary.of(us / 1000 for us in tally.message_us)
    connect_rate = tally.opened / tally.attempted if tally.attempted else 0.0
    delivery_rate = tally.received / tally.sent if tally.sent else 0.0
    success_rate = min(connect_rate, delivery_rate)
    summary = {
        "test_type": test_type,
        "settings": dict(settings),
        "success_rate": round(success_rate, 6),
        "min_success": min_success,
        "passed": success_rate >= min_success,
        "connections": {
            "attempted": tally.attempted,
            "opened": tally.opened,
            "failed": tally.attempted - tally.opened,
            "success_rate": round(connect_rate, 6),
            "seconds": round(connect_seconds, 3),
            "latency_ms": connect.as_json() if connect else None,
        },
        "messages": {
            "sent": tally.sent,
            "received": tally.received,
            "lost": tally.sent - tally.received,
            "acked": tally.acked,
            "delivery_rate": round(delivery_rate, 6),
            "seconds": round(message_seconds, 3),
            "per_second": round(tally.received / message_seconds, 1) if message_seconds else 0.0,
            "latency_ms": latency.as_json() if latency else None,
        },
        "errors": dict(sorted(tally.errors.items())),
    }
    summary["verdict"], summary["exit_status"] = verdict(summary)
    return summary


def summary_table(summary: Mapping[str, Any]) -> Table:
    conns, msgs = summary["connections"], summary["messages"]
    kind = summary["test_type"]
    tool = "momentum client --benchmark" if kind == "benchmark" else f"momentum stress — {kind}"
    table = Table(title=f"{tool} — {_VERDICTS[summary['verdict']]}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("success rate", f"{summary['success_rate']:.2%}")
    table.add_row("connections opened", f"{conns['opened']} / {conns['attempted']}")
    _latency_rows(table, "connect", conns["latency_ms"])
    table.add_row("messages sent", str(msgs["sent"]))
    table.add_row("messages received", str(msgs["received"]))
    table.add_row("messages lost", str(msgs["lost"]))
    _latency_rows(table, "message", msgs["latency_ms"])
    table.add_row("messages per second", f"{msgs['per_second']:,.1f}")
    for kind, count in summary["errors"].items():
        table.add_row(f"error: {kind}", str(count), style="red")
    return table


_VERDICTS = {
    "passed": "[green]passed[/]",
    "accepted": "[yellow]losses within --min-success[/]",
    "failed": "[red]FAILED[/]",
    "rate_limited": "[red]FAILED: rate-limited by the server[/]",
}


def _latency_rows(table: Table, what: str, latency: Mapping[str, float] | None) -> None:
    if latency is None:
        table.add_row(f"{what} latency", "—")
        return
    cells = " / ".join(f"{latency[p]:.2f}" for p in ("p50", "p90", "p99", "max"))
    table.add_row(f"{what} latency p50/p90/p99/max (ms)", cells)


def print_summary(summary: Mapping[str, Any], console: Console) -> None:
    console.print(summary_table(summary))
    for line in explanations(summary):
        console.print(f"[yellow]note:[/] {line}", highlight=False)


async def show_progress(
    console: Console,
    snapshot: Callable[[], tuple[str, float, float, dict[str, int]]],
) -> None:
    """Redraw a progress bar from `snapshot()` = (phase, done, total, counters) until
    cancelled. Drawn from this task (no refresh thread), on the tools' stderr console."""
    columns = (
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TextColumn("{task.fields[counters]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, auto_refresh=False, transient=True) as progress:
        task = progress.add_task("starting", total=1, counters="")
        while True:
            phase, done, total, counters = snapshot()
            text = (
                f"open {counters.get('opened', 0)}/{counters.get('attempted', 0)}  "
                f"sent {counters.get('sent', 0)}  received {counters.get('received', 0)}  "
                f"errors {counters.get('errors', 0)}"
            )
            progress.update(task, description=phase, completed=done, total=total, counters=text)
            progress.refresh()
            await trio.sleep(REFRESH_INTERVAL)
