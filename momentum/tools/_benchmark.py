"""`momentum client --benchmark`: one connection sends N messages to itself, paced to the
server's rate limit, and measures each round trip (send → server → back), then prints a
summary."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from dataclasses import dataclass

import trio
import trio_websocket
from rich.console import Console

from ._http import ToolError, ws_url
from ._identity import Login, obtain_credentials
from ._outcome import EXIT_ERROR
from ._pacer import SERVER_RATE_BURST, SERVER_RATE_LIMIT, Pacer
from ._probe import Probe
from ._report import print_summary, show_progress, summarize
from ._stats import Tally
from ._ws import open_ws

#: Unacked messages allowed in flight: large, so the pacing (not the window) sets the pace.
BENCHMARK_WINDOW = 1024


@dataclass(frozen=True, slots=True)
class BenchmarkPlan:
    messages: int = 1000
    rate: float = 0.0  # messages per second; 0: as fast as the pacing allows
    payload_size: int = 64
    drain_timeout: float = 5.0
    rate_limit: float = SERVER_RATE_LIMIT  # the server's WS_RATE_LIMIT; 0: do not pace
    rate_burst: int = SERVER_RATE_BURST
    wire_format: str = "json"  # or "msgpack" (`_ws.WIRE_FORMATS`)


async def run_benchmark(
    login: Login, plan: BenchmarkPlan, *, as_json: bool = False, progress: bool = True
) -> int:
    """The exit status, as `momentum stress`'s (`_outcome`): 0 only when nothing was lost."""
    err = Console(stderr=True, highlight=False)
    try:
        credentials = await obtain_credentials(login, err.print)
        run = _Benchmark(plan, Tally(), str(credentials.user_id))
        await run.connect_and_run(ws_url(login.server_url, credentials.token), err, progress)
    except ToolError as exc:
        err.print(f"[red]error:[/] {exc}")
        return EXIT_ERROR
    summary = summarize(
        run.tally,
        test_type="benchmark",
        connect_seconds=run.tally.connect_us[0] / 1e6,
        message_seconds=run.seconds,
        settings={
            "messages": plan.messages,
            "rate": plan.rate,
            "rate_limit": plan.rate_limit,
            "rate_burst": plan.rate_burst,
            "payload_size": plan.payload_size,
        },
        min_success=1.0,
    )
    if as_json:
        print(json.dumps(summary))
    else:
        print_summary(summary, Console())
    status: int = summary["exit_status"]
    return status


class _Benchmark:
    def __init__(self, plan: BenchmarkPlan, tally: Tally, me: str) -> None:
        self.plan = plan
        self.tally = tally
        self.me = me
        self.phase = "sending"
        self.seconds = 0.0

    async def connect_and_run(self, url: str, err: Console, progress: bool) -> None:
        tally = self.tally
        tally.attempted = 1
        began = time.perf_counter_ns()
        async with open_ws(url, wire_format=self.plan.wire_format) as ws:
            tally.opened = 1
            tally.connect_us.append((time.perf_counter_ns() - began) // 1000)
            err.print(f"connected; sending {self.plan.messages} messages, {_pace(self.plan)}")
            probe = Probe(
                ws,
                tally,
                secrets.token_hex(6),
                window=BENCHMARK_WINDOW,
                payload_size=self.plan.payload_size,
                pacer=Pacer.for_server(self.plan.rate_limit, self.plan.rate_burst),
            )
            await self.run(probe, err if progress else None)

    async def run(self, probe: Probe, console: Console | None) -> None:
        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._receive, probe, nursery.cancel_scope)
            if console is not None and console.is_terminal:
                nursery.start_soon(show_progress, console, self._snapshot)
            with contextlib.suppress(trio_websocket.ConnectionClosed):
                await self._send(probe)
            self.phase = "draining"
            with trio.move_on_after(self.plan.drain_timeout):
                while not self.tally.settled(answers=True):  # noqa: ASYNC110
                    await trio.sleep(0.01)
            with contextlib.suppress(trio_websocket.ConnectionClosed):
                await probe.flush_acks()
            probe.closing = True
            nursery.cancel_scope.cancel()
        self.seconds = trio.current_time() - started

    async def _receive(self, probe: Probe, cancel_scope: trio.CancelScope) -> None:
        await probe.receive_forever()
        cancel_scope.cancel()

    async def _send(self, probe: Probe) -> None:
        interval = 1 / self.plan.rate if self.plan.rate > 0 else 0.0
        next_at = trio.current_time()
        for _ in range(self.plan.messages):
            await probe.send(self.me, probe.index)
            if interval:
                next_at += interval
                await trio.sleep_until(next_at)

    def _snapshot(self) -> tuple[str, float, float, dict[str, int]]:
        return self.phase, self.tally.sent, self.plan.messages, self.tally.progress()


def _pace(plan: BenchmarkPlan) -> str:
    rate = f"at {plan.rate:g}/s" if plan.rate > 0 else "as fast as allowed"
    if plan.rate_limit <= 0:
        return f"{rate}, unpaced"
    return f"{rate}, paced to {plan.rate_limit:g} frames/s"
