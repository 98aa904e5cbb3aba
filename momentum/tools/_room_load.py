"""`momentum stress --test-type room` and `room-recovery`: load on rooms, counted by offset.

`room`: `rooms` rooms, each with `subscribers` subscriber connections and one publisher
connection (also subscribed). The rooms are created through the HTTP API (public, owned by
their publisher). Once every connection has subscribed, each publisher sends `messages`
room messages (paced by `Pacer`, at most `window` without an ack); every subscriber checks
what it receives by offset — a gap is an offset it never got, a duplicate one it got twice,
out of order one older than the last it got — and times each message from its publish
(one process, one clock: the publisher stamps `perf_counter_ns` into `data`).

`room-recovery`: the subscribers subscribe, note the room's offset and disconnect; the
publisher sends `messages` and waits for their acks; then each subscriber connects again
and resubscribes from its offset, timed until its `ack` says `recovered: true` and until
every missed message has arrived, in order.
"""

from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
import trio
from trio_websocket import WebSocketConnection

from ._http import HttpError, ToolError, base_url, request_json, ws_url
from ._identity import credentials_from_token
from ._pacer import SERVER_RATE_BURST, SERVER_RATE_LIMIT, Pacer
from ._ws import open_ws

RoomTestType = Literal["room", "room-recovery"]
ROOM_TEST_TYPES: tuple[RoomTestType, ...] = ("room", "room-recovery")


@dataclass(frozen=True, slots=True)
class RoomPlan:
    test_type: RoomTestType
    rooms: int = 1
    subscribers: int = 100  # per room, besides its publisher
    messages: int = 100  # per room
    rate: float = 0.0  # messages/s per publisher; 0: as fast as the pacer and window allow
    rate_limit: float = SERVER_RATE_LIMIT
    rate_burst: int = SERVER_RATE_BURST
    payload_size: int = 64
    concurrency: int = 100
    window: int = 100
    drain_timeout: float = 5.0
    connect_timeout: float = 10.0


@dataclass
class Subscriber:
    """What one subscriber received of its room, by offset."""

    offsets: list[int] = field(default_factory=list)
    latency_us: list[int] = field(default_factory=list)
    recovered_ms: float | None = None  # room-recovery: until the ack
    complete_ms: float | None = None  # room-recovery: until the last missed message
    recovered: bool | None = None

    def received(self, offset: int, sent_ns: int | None) -> None:
        self.offsets.append(offset)
        if sent_ns is not None:
            self.latency_us.append((time.perf_counter_ns() - sent_ns) // 1000)


@dataclass
class RoomTally:
    """Everything the run counted; `_room_report` turns it into the summary."""

    connections: int = 0
    failed: int = 0
    published: int = 0
    acked: int = 0
    first_sent_ns: int = 0
    last_received_ns: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    subscribers: list[Subscriber] = field(default_factory=list)
    expected: list[int] = field(default_factory=list)  # each subscriber's last offset due

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class RoomRun:
    """One run: the rooms, their connections, and the tally."""

    def __init__(self, plan: RoomPlan, server_url: str, api_key: str, tokens: list[str]) -> None:
        self.plan = plan
        self.server_url = server_url
        self.api_key = api_key
        self.tokens = tokens
        self.tally = RoomTally()
        self.run_id = secrets.token_hex(6)
        self.connect_seconds = 0.0
        self.message_seconds = 0.0
        self._limiter = trio.CapacityLimiter(max(1, plan.concurrency))

    async def create_rooms(self) -> list[str]:
        """One public room per publisher (the last `rooms` tokens), through the HTTP API."""
        url = f"{base_url(self.server_url)}/rooms"
        rooms = []
        for index in range(self.plan.rooms):
            owner = credentials_from_token(self.publisher_token(index)).user_id
            body = {"name": f"stress-{self.run_id}-{index}", "owner_id": str(owner)}
            try:
                reply = await request_json("POST", url, body=body, api_key=self.api_key)
            except HttpError as exc:
                raise ToolError(f"creating a room failed: {exc}") from None
            rooms.append(str(reply["room"]["id"]))
        return rooms

    def publisher_token(self, room: int) -> str:
        return self.tokens[self.plan.rooms * self.plan.subscribers + room]

    def subscriber_token(self, room: int, n: int) -> str:
        return self.tokens[room * self.plan.subscribers + n]

    async def open(
        self, stack: contextlib.AsyncExitStack, token: str
    ) -> WebSocketConnection | None:
        """A connection closed with `stack`, or None (counted) if it could not open."""
        async with self._limiter:
            url = ws_url(self.server_url, token)
            try:
                ws = await stack.enter_async_context(_opened(url, self.plan.connect_timeout))
            except ToolError as exc:
                self.tally.failed += 1
                self.tally.error(type(exc).__name__)
                return None
        self.tally.connections += 1
        return ws

    def message_body(self, room_id: str, n: int) -> str:
        data = {"run": self.run_id, "n": n, "t": time.perf_counter_ns()}
        if self.plan.payload_size:
            data["pad"] = "x" * self.plan.payload_size
        envelope = {
            "id": str(uuid.uuid4()),
            "message_type": "room_publish",
            "data": {"room_id": room_id, "data": data},
        }
        return orjson.dumps(envelope).decode()

    def pacer(self) -> Pacer:
        return Pacer.for_server(self.plan.rate_limit, self.plan.rate_burst)


@contextlib.asynccontextmanager
async def _opened(url: str, connect_timeout: float) -> AsyncIterator[WebSocketConnection]:
    """`open_ws`, but a connection that times out while closing, after its work is done,
    costs nothing (at a thousand connections the close handshakes queue up)."""
    done = False
    try:
        async with open_ws(url, connect_timeout=connect_timeout) as ws:
            yield ws
            done = True
    except ToolError:
        if not done:
            raise


async def subscribe(ws: WebSocketConnection, room_id: str, offset: int | None = None) -> Any:
    """Send `room_subscribe` and return its ack's entry for the room (ToolError if refused)."""
    data: dict[str, Any] = {"room_id": room_id}
    if offset is not None:
        data["offset"] = offset
    ref = str(uuid.uuid4())
    await ws.send_message(
        orjson.dumps({"id": ref, "message_type": "room_subscribe", "data": data}).decode()
    )
    while True:
        message = orjson.loads(await ws.get_message())
        kind, body = message.get("message_type"), message.get("data") or {}
        if kind == "error" and body.get("ref_id") in (ref, None):
            raise ToolError(f"room_subscribe refused: {body.get('code')}: {body.get('message')}")
        if kind == "ack" and body.get("ref_id") == ref:
            return body["rooms"][0]


def room_message(raw: str | bytes, run_id: str) -> tuple[int, int | None] | None:
    """(offset, the publisher's send time or None) of one of this run's room messages."""
    message = orjson.loads(raw)
    if "offset" not in message or message.get("message_type") in ("ack", "error"):
        return None
    data = message.get("data") or {}
    if data.get("run") != run_id:
        return None
    sent = data.get("t")
    return int(message["offset"]), sent if isinstance(sent, int) else None
