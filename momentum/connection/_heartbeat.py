"""The heartbeat actor: server pings, pong deadlines and token expiry for every connection.

One task keeps the clock for all connections instead of one sleeping task per connection
(a task, its coroutine frames and cancel scopes cost about 3 KB each, and an idle server is
nearly all sleeping connections). Each watched connection has one deadline at a time — its
next ping, its pong deadline or its token's expiry, whichever comes first — in a heap; the
actor sleeps until the earliest, handles every one that is due, and reads its mailbox
meanwhile.

- **Ping**: every `ping_interval` (0: never) it writes a WebSocket ping straight into the
  connection's write queue (a control frame, in order with everything else, without a task).
- **Pong**: trio-websocket reads the pong and tells the `Handle` (`pong_seen`); at the
  deadline, `pong_timeout` after the ping, no pong since means close 4010 — unless the
  reader waited on the server meanwhile (its pongs were not read: the next ping decides).
- **Token expiry**: at `expires_at` the connection is closed with 4001; an `Extend` (a new
  token handed over on the connection, `_reauth`) moves it.

Mailbox: `Watch` (the connection actor, after its join: `await cast`, so a connection is
never served unwatched), `Extend` (its reader, after a token refresh) and `Forget` (as it
closes: `cast_nowait`; when the mailbox is full the entry goes at its next deadline instead,
the actor having finished). Supervision: permanent, in the hub group between the hub and the
connections (rest-for-one): its state is the list of watched connections, so a crash restarts
the connections too — none may stay open unwatched, past its token's expiry.
"""

from __future__ import annotations

import heapq
import itertools
import struct
from dataclasses import dataclass
from typing import NoReturn

import trio
import trio_websocket
from wsproto.events import Ping
from wsproto.utilities import LocalProtocolError

from actors import Mailbox

from ..protocol import CloseCode
from ._handle import Handle

#: The heartbeat's mailbox: one `Watch` per handshake in flight, one `Forget` per close.
HEARTBEAT_MAILBOX = 4096
#: Messages taken from the mailbox at a time.
BATCH = 512
#: Stale heap entries (forgotten connections) tolerated before the heap is rebuilt.
_COMPACT_AT = 1024
_NEVER = float("inf")


@dataclass(frozen=True, slots=True)
class Watch:
    """cast: ping this connection and close it at `expires_at` (Trio clock)."""

    handle: Handle
    ws: trio_websocket.WebSocketConnection
    expires_at: float


@dataclass(frozen=True, slots=True)
class Forget:
    """cast: the connection is closing: stop watching it."""

    conn_id: int


@dataclass(frozen=True, slots=True)
class Extend:
    """cast: the connection's token was replaced: close it at `expires_at` instead."""

    conn_id: int
    expires_at: float


HeartbeatMsg = Watch | Extend | Forget


async def serve_heartbeat(
    mailbox: Mailbox[HeartbeatMsg],
    *,
    ping_interval: float,
    pong_timeout: float,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Keep every watched connection's deadlines until cancelled."""
    beats = Beats(ping_interval, pong_timeout)
    task_status.started()
    while True:
        with trio.move_on_at(beats.next_due()):
            for msg in await mailbox.receive_batch(BATCH):
                beats.handle(msg, trio.current_time())
        beats.run_due(trio.current_time())


class _Beat:
    """One watched connection: its next deadline and its ping in flight."""

    __slots__ = ("beat_at", "due", "expires_at", "handle", "pinged", "ws")

    def __init__(
        self, handle: Handle, ws: trio_websocket.WebSocketConnection, expires_at: float
    ) -> None:
        self.handle = handle
        self.ws = ws
        self.expires_at = expires_at
        self.due = expires_at
        self.beat_at = _NEVER  # the next ping or pong deadline, before the expiry caps it
        self.pinged = -1.0  # when the ping in flight was sent (-1: none)


class _PongSeen:
    """Stands in trio-websocket's table of pings in flight for the Event its own `ping()`
    waits on: its pong handler calls `set()` when the pong (or a later one) arrives."""

    __slots__ = ("handle",)

    def __init__(self, handle: Handle) -> None:
        self.handle = handle

    def set(self) -> None:
        self.handle.pong_seen()


class Beats:
    """The heartbeat's state: watched connections by id, and a heap of their deadlines."""

    def __init__(self, ping_interval: float, pong_timeout: float) -> None:
        self.ping_interval = ping_interval
        self.pong_timeout = pong_timeout
        self._beats: dict[int, _Beat] = {}
        self._heap: list[tuple[float, int]] = []  # (due, conn_id); stale if not the beat's due
        self._payloads = itertools.count(1)

    def __len__(self) -> int:
        return len(self._beats)

    def next_due(self) -> float:
        return self._heap[0][0] if self._heap else _NEVER

    def handle(self, msg: HeartbeatMsg, now: float) -> None:
        match msg:
            case Watch(handle, ws, expires_at):
                beat = _Beat(handle, ws, expires_at)
                self._beats[handle.conn_id] = beat
                first = now + self.ping_interval if self.ping_interval else _NEVER
                self._schedule(beat, first)
            case Extend(conn_id, expires_at):
                extended = self._beats.get(conn_id)
                if extended is not None:
                    extended.expires_at = expires_at
                    self._schedule(extended, extended.beat_at)
            case Forget(conn_id):
                self._beats.pop(conn_id, None)
                if len(self._heap) > 2 * len(self._beats) + _COMPACT_AT:
                    self._compact()

    def run_due(self, now: float) -> None:
        """Handle every deadline that has come."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, conn_id = heapq.heappop(heap)
            beat = self._beats.get(conn_id)
            if beat is None or beat.due != due:
                continue  # forgotten, or rescheduled since
            if not self._step(beat, now):
                del self._beats[conn_id]

    def _step(self, beat: _Beat, now: float) -> bool:
        """One deadline of one connection; False when it is no longer watched."""
        handle = beat.handle
        if handle.finished or handle.closing:
            return False
        if now >= beat.expires_at:
            handle.close(CloseCode.TOKEN_EXPIRED, "token expired")
            return False
        if beat.pinged >= 0:  # the pong deadline
            pinged, beat.pinged = beat.pinged, -1.0
            if handle.last_pong < pinged and not handle.stalled_since(pinged):
                handle.close(CloseCode.STALE, "no pong within the timeout")
                return False
            if handle.last_pong >= pinged:  # answered: the next ping an interval after this one
                self._schedule(beat, max(pinged + self.ping_interval, now))
            else:  # the reader waited on the server: its pong may be unread; ping again later
                self._schedule(beat, now + self.ping_interval)
            return True
        if not _ping(beat, next(self._payloads)):
            return False
        beat.pinged = now
        self._schedule(beat, now + self.pong_timeout)
        return True

    def _schedule(self, beat: _Beat, when: float) -> None:
        beat.beat_at = when
        beat.due = min(when, beat.expires_at)
        if beat.due != _NEVER:
            heapq.heappush(self._heap, (beat.due, beat.handle.conn_id))

    def _compact(self) -> None:
        self._heap = [(b.due, cid) for cid, b in self._beats.items() if b.due != _NEVER]
        heapq.heapify(self._heap)


def _ping(beat: _Beat, serial: int) -> bool:
    """Write one ping and register for its pong; False if the connection is closing.

    trio-websocket's own `ping()` would need a task to wait for its pong; this writes the
    same frame and puts a `_PongSeen` where that Event would be (its private `_wsproto` and
    `_pings`, as pinned in pyproject.toml).
    """
    ws = beat.ws
    if ws.closed is not None:
        return False
    payload = struct.pack("!Q", serial)
    try:
        frame = ws._wsproto.send(Ping(payload=payload))
    except LocalProtocolError:  # a close frame was sent or received: no more pings
        return False
    ws._pings[payload] = _PongSeen(beat.handle)  # type: ignore[assignment]
    return beat.handle.send_control(frame)
