"""Runs `momentum stress --test-type soak`: tokens, the connections here or over worker
processes (`_driver`'s protocol: JSON lines, one result each), the `Watch` on the server
meanwhile, then one summary and the exit status: 0 only when no direct message was lost,
no connection closed unexpectedly and every connection opened.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import trio
from rich.console import Console

from ._driver import raise_file_limit, run_worker_process
from ._http import ToolError, ws_url
from ._outcome import EXIT_ERROR, EXIT_FAILED, EXIT_PASSED
from ._soak import SoakPlan, SoakRun
from ._soak_watch import Watch, hub_task_times
from ._tokens import provision_tokens, read_tokens_file, slots_for

#: Lost message ids listed in the summary (all are counted).
LISTED_LOSSES = 20


@dataclass(frozen=True)
class SoakOptions:
    plan: SoakPlan
    server_url: str
    api_key: str | None = None
    tokens_file: str | None = None
    processes: int = 1
    as_json: bool = False
    server_pid: int | None = None
    sample_interval: float = 10.0
    broadcast_interval: float = 1.0
    worker_index: int | None = None
    worker_count: int = 1
    worker_args: list[str] = field(default_factory=list)  # the command line, for children


async def run_soak(options: SoakOptions) -> int:
    err = Console(stderr=True, highlight=False)
    try:
        if options.worker_index is not None:
            await _run_worker(options)
            return EXIT_PASSED
        if not options.api_key:
            raise ToolError("a soak needs --api-key (or MOMENTUM_API_KEY): it broadcasts")
        tokens = await _tokens(options, options.api_key)
        raise_file_limit(-(-options.plan.connections // options.processes))
        watch = Watch(
            options.server_url,
            options.api_key,
            server_pid=options.server_pid,
            sample_interval=options.sample_interval,
            broadcast_interval=options.broadcast_interval,
            say=err.print,
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch.serve)
            results = await _run(options, tokens)
            nursery.cancel_scope.cancel()
        watch.samples.append(await watch.sample())
        hub_tasks = await hub_task_times(options.server_url, options.api_key)
    except ToolError as exc:
        err.print(f"[red]error:[/] {exc}")
        return EXIT_ERROR
    summary = summarize(options, results, {**watch.as_json(), "hub_tasks": hub_tasks})
    print(json.dumps(summary) if options.as_json else describe(summary))
    status: int = summary["exit_status"]
    return status


async def _tokens(options: SoakOptions, api_key: str) -> list[str]:
    if options.tokens_file:
        return read_tokens_file(options.tokens_file)
    return await provision_tokens(options.server_url, api_key, options.plan.connections, "soak")


def _new_run(options: SoakOptions, tokens: list[str], worker: int, workers: int) -> SoakRun:
    slots = slots_for(tokens, options.plan.connections, worker, workers)
    return SoakRun(options.plan, slots, lambda token: ws_url(options.server_url, token))


async def _run(options: SoakOptions, tokens: list[str]) -> list[dict[str, Any]]:
    """Every process's result (this one's alone with one process)."""
    if options.processes == 1:
        run = _new_run(options, tokens, 0, 1)
        await run.run()
        return [{**run.tally.as_json(), "connect_seconds": run.connect_seconds}]
    count = options.processes
    results: list[dict[str, Any] | None] = [None] * count
    progress: list[dict[str, Any]] = [{} for _ in range(count)]
    with tempfile.TemporaryDirectory(prefix="momentum-soak-") as folder:
        path = Path(folder) / "tokens.txt"
        path.write_text("\n".join(tokens) + "\n")
        path.chmod(0o600)
        async with trio.open_nursery() as workers:
            for index in range(count):
                command = [
                    sys.executable,
                    "-m",
                    "momentum",
                    "stress",
                    *options.worker_args,
                    f"--tokens-file={path}",
                    f"--worker-index={index}",
                    f"--worker-count={count}",
                ]
                workers.start_soon(run_worker_process, command, index, progress, results)
    failed = [str(i) for i, r in enumerate(results) if r is None]
    if failed:
        raise ToolError(f"soak worker process(es) {', '.join(failed)} failed (see above)")
    return [r for r in results if r is not None]


async def _run_worker(options: SoakOptions) -> None:
    """A child: run our share, then print one JSON result line."""
    if not options.tokens_file:
        raise ToolError("a worker needs --tokens-file")
    tokens = read_tokens_file(options.tokens_file)
    run = _new_run(options, tokens, options.worker_index or 0, options.worker_count)
    await run.run()
    result = {**run.tally.as_json(), "connect_seconds": run.connect_seconds}
    sys.stdout.write(json.dumps({"result": result}) + "\n")
    sys.stdout.flush()


def summarize(
    options: SoakOptions, results: list[dict[str, Any]], server: dict[str, Any]
) -> dict[str, Any]:
    """One summary of every process's result and the watch's."""
    plan = options.plan
    lost = [i for r in results for i in r["lost"]]
    closes = _added(r["unexpected_closes"] for r in results)
    connect_errors = _added(r["connect_errors"] for r in results)
    opened = sum(int(r["opened"]) for r in results)
    passed = not lost and not closes and opened == plan.connections
    direct = {k: sum(int(r[k]) for r in results) for k in ("sent", "received", "refused")}
    return {
        "test_type": "soak",
        "settings": {**asdict(plan), "processes": options.processes},
        "connections": {
            "wanted": plan.connections,
            "opened": opened,
            "connect_seconds": max(float(r["connect_seconds"]) for r in results),
            "connect_errors": connect_errors,
            "unexpected_closes": closes,
        },
        "direct": {
            **direct,
            "lost": len(lost),
            "lost_ids": lost[:LISTED_LOSSES],
            "latency_ms": latency_summary(r["latency_ms"] for r in results),
        },
        "broadcast_frames": {
            "received": sum(int(r["broadcast_frames"]) for r in results),
            "per_connection_min": min(int(r["broadcasts_min"]) for r in results),
            "per_connection_max": max(int(r["broadcasts_max"]) for r in results),
        },
        "server": server,
        "passed": passed,
        "exit_status": EXIT_PASSED if passed else EXIT_FAILED,
    }


def _added(parts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return dict(total)


def latency_summary(parts: Iterable[Mapping[str, int]]) -> dict[str, float] | None:
    """p50, p90, p99 and max of latencies counted per whole millisecond (rounded up)."""
    counts = _added(parts)
    total = sum(counts.values())
    if not total:
        return None
    ordered = sorted((int(ms), count) for ms, count in counts.items())
    found: dict[str, float] = {"count": total}
    for name, share in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)):
        seen = 0
        for ms, count in ordered:
            seen += count
            if seen >= share * total:
                found[name] = ms
                break
    return found


def describe(summary: Mapping[str, Any]) -> str:
    """The summary for people, a few lines."""
    c, d, b, s = (summary[k] for k in ("connections", "direct", "broadcast_frames", "server"))
    latency = d["latency_ms"] or {}
    lines = [
        f"momentum stress — soak — {'passed' if summary['passed'] else 'FAILED'}",
        f"connections  {c['opened']:,} of {c['wanted']:,} in {c['connect_seconds']:.1f} s;"
        f" unexpected closes {c['unexpected_closes'] or 'none'};"
        f" connect errors {c['connect_errors'] or 'none'}",
        f"direct       sent {d['sent']:,}, received {d['received']:,}, refused"
        f" {d['refused']:,}, LOST {d['lost']:,}; latency p50 {latency.get('p50')} ms,"
        f" p99 {latency.get('p99')} ms, max {latency.get('max')} ms",
        f"broadcasts   sent {s['broadcasts_sent']:,} ({s['broadcast_errors']} failed);"
        f" frames received {b['received']:,}, per connection {b['per_connection_min']:,}"
        f" to {b['per_connection_max']:,}",
    ]
    for name, figures in s["latency"].items():
        lines.append(f"{name:<12} {figures}")
    for task, figures in s["hub_tasks"].items():
        lines.append(f"hub task     {task}: {figures}")
    rss = [x["rss_mb"] for x in s["samples"] if x["rss_mb"] is not None]
    if rss:
        lines.append(f"server RSS   {' '.join(f'{v:.0f}' for v in rss)} MB")
    return "\n".join(lines)
