"""Runs `momentum stress`: gets tokens, runs the test here or over worker processes,
merges what they counted, prints the summary, and says whether the run passed.

Worker processes are `python -m momentum stress … --worker-index i --worker-count N`
children. Each opens every N-th connection, sends only to its own connections (so it
measures its own round trips on its own clock) and writes JSON lines to stdout: progress
snapshots, then one result holding its counts and raw latency samples. The parent adds up
the counts and computes percentiles over all the samples together.
"""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import trio
from rich.console import Console

from ._http import ToolError, ws_url
from ._outcome import EXIT_ERROR
from ._report import print_summary, show_progress, summarize
from ._stats import Tally
from ._stress import StressPlan, StressRun
from ._tokens import provision_tokens, read_tokens_file, slots_for

#: How often a worker reports its progress to the parent.
WORKER_REPORT_INTERVAL = 0.2


@dataclass(frozen=True)
class StressOptions:
    plan: StressPlan
    server_url: str = "http://localhost:8000"
    api_key: str | None = None
    tokens_file: str | None = None
    processes: int = 1
    as_json: bool = False
    min_success: float = 1.0  # a fraction
    progress: bool = True
    worker_index: int | None = None
    worker_count: int = 1
    worker_args: list[str] = field(default_factory=list)  # the command line, for children


async def run_stress(options: StressOptions) -> int:
    """The exit status: 0 when the success rate reaches `min_success`, 1 when not, 3 when
    not and the server's rate limit was a cause, 2 when it could not run (`_outcome`)."""
    err = Console(stderr=True)
    try:
        if options.worker_index is not None:
            await _run_worker(options)
            return 0
        tokens = await _tokens(options)
        raise_file_limit(options.plan.connections)
        if options.processes > 1:
            tally, connect_s, message_s = await _run_workers(options, tokens, err)
        else:
            tally, connect_s, message_s = await _run_here(options, tokens, err)
    except ToolError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        return EXIT_ERROR
    summary = summarize(
        tally,
        test_type=options.plan.test_type,
        connect_seconds=connect_s,
        message_seconds=message_s,
        settings={**asdict(options.plan), "processes": options.processes},
        min_success=options.min_success,
    )
    if options.as_json:
        print(json.dumps(summary))
    else:
        print_summary(summary, Console())
    status: int = summary["exit_status"]
    return status


async def _tokens(options: StressOptions) -> list[str]:
    if options.tokens_file:
        return read_tokens_file(options.tokens_file)
    if not options.api_key:
        raise ToolError("give --api-key (or MOMENTUM_API_KEY) to provision users, or --tokens-file")
    count = options.plan.connections
    return await provision_tokens(options.server_url, options.api_key, count, "stress")


async def _run_here(
    options: StressOptions, tokens: list[str], err: Console
) -> tuple[Tally, float, float]:
    run = _new_run(options, tokens, 0, 1)
    async with trio.open_nursery() as nursery:
        if options.progress and err.is_terminal:

            def snapshot() -> tuple[str, float, float, dict[str, int]]:
                return (run.phase, *run.completed(), run.tally.progress())

            nursery.start_soon(show_progress, err, snapshot)
        await run.run()
        nursery.cancel_scope.cancel()
    return run.tally, run.connect_seconds, run.message_seconds


def _new_run(options: StressOptions, tokens: list[str], worker: int, workers: int) -> StressRun:
    slots = slots_for(tokens, options.plan.connections, worker, workers)
    return StressRun(options.plan, slots, lambda token: ws_url(options.server_url, token))


async def _run_worker(options: StressOptions) -> None:
    """A child: run our share and report on stdout, one JSON object a line."""
    if not options.tokens_file:
        raise ToolError("a worker needs --tokens-file")
    tokens = read_tokens_file(options.tokens_file)
    run = _new_run(options, tokens, options.worker_index or 0, options.worker_count)

    def emit(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    async with trio.open_nursery() as nursery:

        async def report() -> None:
            while True:
                done, total = run.completed()
                progress = {"phase": run.phase, "done": done, "total": total}
                emit({"progress": {**progress, **run.tally.progress()}})
                await trio.sleep(WORKER_REPORT_INTERVAL)

        nursery.start_soon(report)
        await run.run()
        nursery.cancel_scope.cancel()
    result = {
        **run.tally.as_json(),
        "connect_seconds": run.connect_seconds,
        "message_seconds": run.message_seconds,
    }
    emit({"result": result})


async def _run_workers(
    options: StressOptions, tokens: list[str], err: Console
) -> tuple[Tally, float, float]:
    count = options.processes
    progress: list[dict[str, Any]] = [{} for _ in range(count)]
    results: list[dict[str, Any] | None] = [None] * count
    with tempfile.TemporaryDirectory(prefix="momentum-stress-") as folder:
        path = Path(folder) / "tokens.txt"
        path.write_text("\n".join(tokens) + "\n")
        path.chmod(0o600)
        async with trio.open_nursery() as nursery:
            if options.progress and err.is_terminal:
                nursery.start_soon(show_progress, err, lambda: _merged_progress(progress))
            async with trio.open_nursery() as workers:
                for index in range(count):
                    command = _worker_command(options, str(path), index)
                    workers.start_soon(run_worker_process, command, index, progress, results)
            nursery.cancel_scope.cancel()
    failed = [str(i) for i, r in enumerate(results) if r is None]
    if failed:
        raise ToolError(f"worker process(es) {', '.join(failed)} failed (see above)")
    finished = [r for r in results if r is not None]
    tally = Tally.merged(Tally.from_json(r) for r in finished)
    connect_s = max(float(r["connect_seconds"]) for r in finished)
    message_s = max(float(r["message_seconds"]) for r in finished)
    return tally, connect_s, message_s


def _worker_command(options: StressOptions, tokens_path: str, index: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "momentum",
        "stress",
        *options.worker_args,
        "--tokens-file",
        tokens_path,
        "--worker-index",
        str(index),
        "--worker-count",
        str(options.processes),
    ]


async def run_worker_process(
    command: list[str],
    index: int,
    progress: list[dict[str, Any]],
    results: list[dict[str, Any] | None],
) -> None:
    """Run one child and collect its reports; a child that fails leaves its result None."""
    async with trio.open_nursery() as nursery:
        # run_process owns the child: waits for it, and kills it if we are cancelled.
        process: trio.Process = await nursery.start(
            partial(trio.run_process, command, stdout=subprocess.PIPE, check=False)
        )
        assert process.stdout is not None
        buffer = b""
        async for chunk in process.stdout:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                with contextlib.suppress(ValueError):
                    message = json.loads(line)
                    if "progress" in message:
                        progress[index] = message["progress"]
                    elif "result" in message:
                        results[index] = message["result"]
    if process.returncode != 0:
        results[index] = None


def _merged_progress(parts: list[dict[str, Any]]) -> tuple[str, float, float, dict[str, int]]:
    phases = {p.get("phase", "starting") for p in parts}
    phase = next(iter(phases)) if len(phases) == 1 else "running"
    done = sum(float(p.get("done", 0)) for p in parts)
    total = sum(float(p.get("total", 0)) for p in parts) or 1.0
    keys = ("attempted", "opened", "sent", "received", "errors")
    counters = {k: sum(int(p.get(k, 0)) for p in parts) for k in keys}
    return phase, done, total, counters


def raise_file_limit(connections: int) -> None:
    """Each connection is a file descriptor: lift the soft limit as far as allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 64
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
