"""`momentum stress`: the three load tests (storm, throughput, sustained), run by one process.

Every test has the same phases, so that each measures one thing:

1. **connect** — open every connection, at most `concurrency` handshakes at a time, timing
   each handshake (connect latency, success rate);
2. **messages** — once every connection is open or has failed: `storm` sends one ping per
   connection; `throughput` sends `messages` direct messages per connection to random
   other connections; `sustained` sends at `rate` per connection for `duration` seconds.
   Every frame a connection sends goes through its `Pacer`, which keeps it under the
   server's rate limit (`rate_limit`, `rate_burst`);
3. **drain** — wait until every message was acked or refused and every delivery the acks
   announced was received (every pong, for a storm), or `drain_timeout`; what is
   still missing then is lost;
4. **close** — every connection closes with 1000.

Several processes (`--processes`) each run this on their share of the connections and
tokens; `_workers.py` merges their tallies.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import trio
import trio_websocket

from ._http import HttpError, ServerUnreachable, ToolError
from ._pacer import SERVER_RATE_BURST, SERVER_RATE_LIMIT, Pacer
from ._probe import DEFAULT_WINDOW, Probe
from ._stats import Tally
from ._ws import ConnectTimeout, HandshakeRefused, open_ws

TestType = Literal["storm", "throughput", "sustained"]
TEST_TYPES: tuple[TestType, ...] = ("storm", "throughput", "sustained")


@dataclass(frozen=True, slots=True)
class StressPlan:
    test_type: TestType
    connections: int
    messages: int = 100
    duration: float = 60.0
    rate: float = 0.0  # messages per connection per second; 0: as fast as allowed
    rate_limit: float = SERVER_RATE_LIMIT  # the server's WS_RATE_LIMIT; 0: do not pace
    rate_burst: int = SERVER_RATE_BURST  # the server's WS_RATE_BURST
    payload_size: int = 64
    concurrency: int = 100
    window: int = DEFAULT_WINDOW
    drain_timeout: float = 5.0
    connect_timeout: float = 10.0
    wire_format: str = "json"  # or "msgpack" (`_ws.WIRE_FORMATS`)


@dataclass(frozen=True, slots=True)
class Slot:
    """One connection to open: its token and the user id it is known by."""

    index: int
    token: str
    user_id: str


class StressRun:
    """The state of one process's run; `completed()` feeds the progress bar."""

    def __init__(self, plan: StressPlan, slots: list[Slot], url_for: Callable[[str], str]):
        self.plan = plan
        self.slots = slots
        self.url_for = url_for
        self.tally = Tally()
        self.run_id = secrets.token_hex(6)
        self.phase = "connecting"
        self.connect_seconds = 0.0
        self.message_seconds = 0.0
        self._settled = 0
        self._senders_left = len(slots)
        self._all_settled = trio.Event()
        self._all_sent = trio.Event()
        self._start = trio.Event()
        self._release = trio.Event()
        self._message_started = 0.0
        self._limiter = trio.CapacityLimiter(max(1, plan.concurrency))

    def completed(self) -> tuple[float, float]:
        """(done, total) of the current test: connections, messages or seconds."""
        plan, count = self.plan, len(self.slots)
        if plan.test_type == "storm" or self.phase == "connecting":
            return float(self._settled), float(count)
        if plan.test_type == "throughput":
            return float(self.tally.sent), float(count * plan.messages)
        elapsed = trio.current_time() - self._message_started if self._message_started else 0.0
        return min(elapsed, plan.duration), plan.duration

    async def run(self) -> None:
        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            for slot in self.slots:
                nursery.start_soon(self._connection, slot)
            if not self.slots:
                self._all_settled.set()
                self._all_sent.set()
            await self._all_settled.wait()
            self.connect_seconds = trio.current_time() - started
            self.phase = "messages"
            self._message_started = trio.current_time()
            self._start.set()
            await self._all_sent.wait()
            self.phase = "draining"
            with trio.move_on_after(self.plan.drain_timeout):
                while not self.tally.settled(answers=self.plan.test_type != "storm"):  # noqa: ASYNC110
                    await trio.sleep(0.01)
            self.message_seconds = trio.current_time() - self._message_started
            self.phase = "closing"
            self._release.set()
        self.phase = "done"

    async def _connection(self, slot: Slot) -> None:
        async with contextlib.AsyncExitStack() as stack:
            async with self._limiter:
                self.tally.attempted += 1
                began = time.perf_counter_ns()
                try:
                    ws = await stack.enter_async_context(
                        open_ws(
                            self.url_for(slot.token),
                            connect_timeout=self.plan.connect_timeout,
                            wire_format=self.plan.wire_format,
                        )
                    )
                except ToolError as exc:
                    self.tally.error(error_kind(exc))
                    self._settle()
                    self._sender_finished()
                    return
            self.tally.opened += 1
            self.tally.connect_us.append((time.perf_counter_ns() - began) // 1000)
            self._settle()
            probe = Probe(
                ws,
                self.tally,
                self.run_id,
                index=slot.index,
                window=self.plan.window,
                payload_size=self.plan.payload_size,
                pacer=Pacer.for_server(self.plan.rate_limit, self.plan.rate_burst),
            )
            await self._exchange(probe, slot)

    async def _exchange(self, probe: Probe, slot: Slot) -> None:
        finished = False
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch, probe, nursery.cancel_scope)
                await self._start.wait()
                with contextlib.suppress(trio_websocket.ConnectionClosed):
                    await self._send_all(probe, slot)
                finished = True
                self._sender_finished()
                await self._release.wait()
                with contextlib.suppress(trio_websocket.ConnectionClosed):
                    await probe.flush_acks()
                probe.closing = True
                nursery.cancel_scope.cancel()
        finally:
            if not finished:
                self._sender_finished()

    async def _watch(self, probe: Probe, cancel_scope: trio.CancelScope) -> None:
        await probe.receive_forever()
        cancel_scope.cancel()  # closed by the server: nothing more to send or wait for

    async def _send_all(self, probe: Probe, slot: Slot) -> None:
        plan = self.plan
        if plan.test_type == "storm":
            await probe.ping()
            return
        interval = 1 / plan.rate if plan.rate > 0 else 0.0
        deadline = trio.current_time() + plan.duration
        # A random phase per connection, so paced connections do not all send at once.
        next_at = trio.current_time() + random.uniform(-interval, 0)
        sent = 0
        while plan.test_type == "sustained" or sent < plan.messages:
            if interval:
                next_at += interval
                await trio.sleep_until(next_at)
            if plan.test_type == "sustained" and trio.current_time() >= deadline:
                return
            target = self._target(slot)
            await probe.send(target.user_id, target.index)
            sent += 1

    def _target(self, slot: Slot) -> Slot:
        """A random other connection (itself when it is the only one)."""
        if len(self.slots) == 1:
            return slot
        while True:
            target = random.choice(self.slots)
            if target is not slot:
                return target

    def _settle(self) -> None:
        self._settled += 1
        if self._settled == len(self.slots):
            self._all_settled.set()

    def _sender_finished(self) -> None:
        self._senders_left -= 1
        if self._senders_left == 0:
            self._all_sent.set()


def error_kind(exc: ToolError) -> str:
    """A short, stable name for a failure, used as a key of `errors`."""
    if isinstance(exc, HandshakeRefused):
        return f"handshake_{exc.status}_{exc.code}"
    if isinstance(exc, HttpError):
        return f"http_{exc.status}_{exc.code}"
    if isinstance(exc, ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, ServerUnreachable):
        return "connect_failed"
    return "connect_error"
