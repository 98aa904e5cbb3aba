"""One load-generating connection: numbered probe messages out; deliveries, acks, errors in.

A probe message is a `text` envelope whose `data` carries the run's id (`r`), the index of
the connection meant to count it (`k`: a user with several connections gets a copy on
each, counted once), a sequence number (`s`) and the send time (`t`, `perf_counter_ns` of
this process), so the receiving connection — in the same process — measures the delivery
latency, and acknowledges it in
batches (the server keeps each direct message until its recipient acks it). Messages of
other runs, presence and everything else are ignored. Every frame the probe sends —
message, ping or ack — waits for its `Pacer` first (the server's rate limit counts them all).
"""

from __future__ import annotations

import time
import uuid

import trio
import trio_websocket
from trio_websocket import WebSocketConnection

from ._pacer import Pacer
from ._stats import Tally
from ._ws import decode, encode

#: Unacknowledged messages one connection may have in flight: bounded, so a fast sender
#: waits for the server instead of queueing without limit (and being closed as a flood).
DEFAULT_WINDOW = 32
#: Received direct messages are acknowledged to the server (so it can drop its stored copy)
#: in batches: when this many are waiting, or the oldest has waited ACK_DELAY seconds.
ACK_BATCH = 100
ACK_DELAY = 0.25
#: Error codes the server sends *besides* the ack (the message was routed, not stored).
NOT_REFUSALS = frozenset({"storage_busy", "storage_unavailable"})


class Probe:
    def __init__(
        self,
        ws: WebSocketConnection,
        tally: Tally,
        run_id: str,
        *,
        index: int = 0,
        window: int = DEFAULT_WINDOW,
        payload_size: int = 0,
        pacer: Pacer | None = None,
    ) -> None:
        self.ws = ws
        self.pacer = pacer or Pacer(0, 1)
        self.index = index
        self.tally = tally
        self.run_id = run_id
        self.closing = False
        self._window = trio.Semaphore(window)
        self._filler = "x" * payload_size
        self._seq = 0
        self._pings: dict[str, int] = {}
        self._to_ack: list[str] = []
        self._seen: set[str] = set()  # delivery is at-least-once: count each id once
        self._ack_due = 0.0

    async def send(self, to_user_id: str, to_index: int) -> None:
        """One probe message to `to_user_id`, counted when connection `to_index` gets it."""
        await self._window.acquire()
        await self.pacer.wait()
        self._seq += 1
        data = {"r": self.run_id, "k": to_index, "s": self._seq, "t": time.perf_counter_ns()}
        if self._filler:
            data["content"] = self._filler
        envelope = {"message_type": "text", "to_user_id": to_user_id, "data": data}
        await self.ws.send_message(encode(self.ws, envelope))
        self.tally.sent += 1

    async def ping(self) -> None:
        """A ping envelope; its pong counts as the reply and its round trip as the latency."""
        await self.pacer.wait()
        ping_id = str(uuid.uuid4())
        self._pings[ping_id] = time.perf_counter_ns()
        await self.ws.send_message(encode(self.ws, {"id": ping_id, "message_type": "ping"}))
        self.tally.sent += 1

    async def receive_forever(self) -> None:
        """Count what arrives until the connection closes; a server close is an error."""
        try:
            while True:
                self._on_message(await self.ws.get_message())
                if self._to_ack and (
                    len(self._to_ack) >= ACK_BATCH or trio.current_time() >= self._ack_due
                ):
                    await self.flush_acks()
        except trio_websocket.ConnectionClosed as closed:
            if not self.closing:
                code = closed.reason.code if closed.reason else None
                self.tally.error(f"close_{code}")

    async def flush_acks(self) -> None:
        """Acknowledge the direct messages received so far (`ack` with their ids)."""
        if not self._to_ack:
            return
        await self.pacer.wait()  # acks take a rate-limit token too
        ids, self._to_ack = self._to_ack, []
        if ids:
            ack = {"message_type": "ack", "data": {"ids": ids}}
            await self.ws.send_message(encode(self.ws, ack))

    def _on_message(self, raw: str | bytes) -> None:
        now = time.perf_counter_ns()
        message = decode(raw)
        kind = message.get("message_type")
        data = message.get("data") or {}
        if kind == "text" and data.get("r") == self.run_id and data.get("k") == self.index:
            if message["id"] not in self._seen:
                self._seen.add(message["id"])
                self.tally.received += 1
                self.tally.message_us.append((now - int(data["t"])) // 1000)
            if not self._to_ack:
                self._ack_due = trio.current_time() + ACK_DELAY
            self._to_ack.append(message["id"])
        elif kind == "ack":
            self.tally.acked += 1
            self.tally.expected += 1 if data.get("delivered") else 0
            self._window.release()
        elif kind == "error":
            code = data.get("code")
            self.tally.error(f"error_{code}")
            if code not in NOT_REFUSALS:
                # Refused frames are answered in order, one error each (a rate-limited
                # frame's error has no ref_id), so each refusal frees one slot.
                self.tally.refused += 1
                self._window.release()
        elif kind == "pong":
            started = self._pings.pop(message.get("id"), None)
            if started is not None:
                self.tally.received += 1
                self.tally.message_us.append((now - started) // 1000)
