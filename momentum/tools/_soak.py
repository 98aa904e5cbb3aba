"""`momentum stress --test-type soak`, one process's share: hold connections, exchange direct
messages, count what is lost by id.

1. **connect** — open this process's connections, at most `concurrency` handshakes at a
   time (presence off: a soak measures holding connections, not announcing them);
2. **hold** — for `duration` seconds every connection reads what arrives (and acknowledges
   the direct messages it gets, as a real client does, so the store can drop them), counting
   the soak's broadcasts; the first `senders` connections of the whole run also send direct
   messages, `rate` a second each, to the next sender of the same process (a ring), each
   with an id of its own in `data.m`;
3. **drain** — wait until every message sent was received or refused, or `drain_timeout`;
4. **close** — every connection closes with 1000.

A message is *lost* when it was sent and neither arrived nor was refused (an `error`
answering it): whether the server acknowledged it or not. A close the run did not ask for
is *unexpected*, whatever its code.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import trio
import trio_websocket
from trio_websocket import WebSocketConnection

from ._http import ToolError
from ._pacer import SERVER_RATE_BURST, SERVER_RATE_LIMIT, Pacer
from ._probe import ACK_BATCH, ACK_DELAY, NOT_REFUSALS
from ._stress import Slot, error_kind
from ._ws import close_code, open_ws

#: What marks the soak's broadcasts (`data.soak`, their number): other broadcasts are ignored.
BROADCAST_KEY = "soak"


@dataclass(frozen=True, slots=True)
class SoakPlan:
    connections: int
    duration: float = 600.0
    senders: int = 200
    rate: float = 10.0  # direct messages per second per sender
    rate_limit: float = SERVER_RATE_LIMIT
    rate_burst: int = SERVER_RATE_BURST
    concurrency: int = 100
    drain_timeout: float = 10.0
    connect_timeout: float = 30.0


class SoakTally:
    """What one process counted; `as_json` / `merged` carry it to the parent."""

    def __init__(self) -> None:
        self.opened = 0
        self.connect_errors: Counter[str] = Counter()
        self.unexpected_closes: Counter[str] = Counter()
        self.sent: set[str] = set()
        self.received: set[str] = set()
        self.refused: set[str] = set()
        self.broadcasts: list[int] = []  # per connection, how many of the soak's arrived
        #: delivery latency of the direct messages: how many took each whole millisecond
        #: (rounded up), so that processes merge by adding
        self.latency_ms: Counter[int] = Counter()

    def lost(self) -> set[str]:
        return self.sent - self.received - self.refused

    def as_json(self) -> dict[str, Any]:
        return {
            "opened": self.opened,
            "connect_errors": dict(self.connect_errors),
            "unexpected_closes": dict(self.unexpected_closes),
            "sent": len(self.sent),
            "received": len(self.received & self.sent),
            "refused": len(self.refused & self.sent),
            "lost": sorted(self.lost()),
            "broadcasts_min": min(self.broadcasts, default=0),
            "broadcasts_max": max(self.broadcasts, default=0),
            "broadcast_frames": sum(self.broadcasts),
            "latency_ms": {str(ms): count for ms, count in sorted(self.latency_ms.items())},
        }


class SoakRun:
    """One process's connections (`slots`) for one soak; `run()` does the four phases."""

    def __init__(self, plan: SoakPlan, slots: list[Slot], url_for: Callable[[str], str]) -> None:
        self.plan = plan
        self.slots = slots
        self.url_for = url_for
        self.tally = SoakTally()
        self.run_id = uuid.uuid4().hex[:12]
        self.phase = "connecting"
        self.connect_seconds = 0.0
        senders = [slot for slot in slots if slot.index < plan.senders]
        #: each sender's recipient: the next sender of this process (itself when alone)
        self.ring = {s.index: senders[(i + 1) % len(senders)] for i, s in enumerate(senders)}
        self._limiter = trio.CapacityLimiter(max(1, plan.concurrency))
        self._connected = 0
        self.all_connected = trio.Event()
        self.released = trio.Event()

    async def run(self) -> None:
        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            for slot in self.slots:
                nursery.start_soon(self._connection, slot)
            if not self.slots:
                self.all_connected.set()
            await self.all_connected.wait()
            self.connect_seconds = trio.current_time() - started
            self.phase = "holding"
            await trio.sleep(self.plan.duration)
            self.phase = "draining"
            with trio.move_on_after(self.plan.drain_timeout):
                while self.tally.lost():  # noqa: ASYNC110 - counts change in other tasks
                    await trio.sleep(0.05)
            self.phase = "closing"
            self.released.set()
        self.phase = "done"

    def _settled(self) -> None:
        self._connected += 1
        if self._connected == len(self.slots):
            self.all_connected.set()

    async def _connection(self, slot: Slot) -> None:
        async with contextlib.AsyncExitStack() as stack:
            async with self._limiter:
                try:
                    url = self.url_for(slot.token) + "&presence=off"
                    timeout = self.plan.connect_timeout
                    ws = await stack.enter_async_context(open_ws(url, connect_timeout=timeout))
                except ToolError as exc:
                    self.tally.connect_errors[error_kind(exc)] += 1
                    self._settled()
                    return
            self.tally.opened += 1
            self._settled()
            await _Connection(self, slot, ws).serve()


class _Connection:
    """One held connection: reads everything, acknowledges direct messages, and sends its
    share when it is a sender."""

    def __init__(self, run: SoakRun, slot: Slot, ws: WebSocketConnection) -> None:
        self.run = run
        self.tally = run.tally
        self.slot = slot
        self.ws = ws
        self.pacer = Pacer.for_server(run.plan.rate_limit, run.plan.rate_burst)
        self.broadcasts = 0
        self._to_ack: list[str] = []
        self._ack_due = 0.0

    async def serve(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read)
                recipient = self.run.ring.get(self.slot.index)
                await self.run.all_connected.wait()
                if recipient is not None:
                    with trio.move_on_after(self.run.plan.duration):
                        await self._send(recipient)
                await self.run.released.wait()
                nursery.cancel_scope.cancel()
        finally:
            self.tally.broadcasts.append(self.broadcasts)

    async def _send(self, recipient: Slot) -> None:
        interval = 1 / self.run.plan.rate
        next_at = trio.current_time() + random.uniform(0, interval)
        while True:
            await trio.sleep_until(next_at)
            next_at += interval
            await self.pacer.wait()
            message_id = str(uuid.uuid4())
            data = {"r": self.run.run_id, "m": message_id, "t": time.perf_counter_ns()}
            envelope = {
                "id": message_id,
                "message_type": "text",
                "to_user_id": recipient.user_id,
                "data": data,
            }
            try:
                await self.ws.send_message(orjson.dumps(envelope).decode())
            except trio_websocket.ConnectionClosed:
                return  # counted by the reader as an unexpected close
            self.tally.sent.add(message_id)

    async def _read(self) -> None:
        try:
            while True:
                self._on_message(orjson.loads(await self.ws.get_message()))
                if self._to_ack and (
                    len(self._to_ack) >= ACK_BATCH or trio.current_time() >= self._ack_due
                ):
                    await self._flush_acks()
        except trio_websocket.ConnectionClosed:
            if not self.run.released.is_set():
                self.tally.unexpected_closes[f"close_{close_code(self.ws)}"] += 1

    async def _flush_acks(self) -> None:
        await self.pacer.wait()
        ids, self._to_ack = self._to_ack, []
        ack = {"message_type": "ack", "data": {"ids": ids}}
        await self.ws.send_message(orjson.dumps(ack).decode())

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("message_type")
        data = message.get("data") or {}
        if kind == "text" and data.get("r") == self.run.run_id:
            if data["m"] not in self.tally.received:
                self.tally.received.add(data["m"])
                took_ns = time.perf_counter_ns() - int(data["t"])
                self.tally.latency_ms[-(-took_ns // 1_000_000)] += 1
            if not self._to_ack:
                self._ack_due = trio.current_time() + ACK_DELAY
            self._to_ack.append(message["id"])
        elif BROADCAST_KEY in data and message.get("to_user_id") is None:
            self.broadcasts += 1
        elif kind == "error" and data.get("code") not in NOT_REFUSALS:
            ref_id = data.get("ref_id")
            if isinstance(ref_id, str):  # may come before its send returns: matched at the end
                self.tally.refused.add(ref_id)
