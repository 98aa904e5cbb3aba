"""The heartbeat actor: pings, pong deadlines and token expiry for every connection.

Rules: Trio's autojump clock, so times are exact; a real heartbeat actor on a real mailbox;
each connection a real `Handle` and `WireStream` on a socket pair with trio-websocket's
reader on the server end (it reads the pongs), and a wsproto client on the peer end that
answers pings or not. Every test under an outer `fail_after`.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio
import trio.testing
import trio_websocket
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection
from wsproto.events import Ping

from actors import ActorRef, open_mailbox
from momentum.connection import Extend, Forget, Handle, HeartbeatMsg, Watch, serve_heartbeat
from momentum.connection._upgraded import Upgraded
from momentum.protocol import CloseCode
from momentum.wire import WireStream

PING, PONG = 25.0, 10.0
FOREVER = float("inf")


@dataclass
class Peer:
    """The client end: counts the pings it reads, answers them while `answering`."""

    sock: trio.socket.SocketType
    answering: bool = True
    pings: int = 0

    async def serve(self) -> None:
        client = Connection(ConnectionType.CLIENT)
        while data := await self.sock.recv(1 << 16):
            client.receive_data(data)
            for event in client.events():
                if isinstance(event, Ping):
                    self.pings += 1
                    if self.answering:
                        await self.sock.send(client.send(event.response()))


@dataclass
class Conn:
    handle: Handle
    ws: trio_websocket.WebSocketConnection
    peer: Peer


_ids = iter(range(1, 1_000_000))


@asynccontextmanager
async def open_conn() -> AsyncIterator[Conn]:
    """An accepted server connection on a socket pair, with trio-websocket's reader, and its
    peer."""
    ours, theirs = socket.socketpair()
    wire = WireStream(trio.SocketStream(trio.socket.from_stdlib_socket(ours)), b"", max_frames=8)
    ws = trio_websocket.WebSocketConnection(wire, WSConnection(ConnectionType.SERVER))
    ws._wsproto = Upgraded(Connection(ConnectionType.SERVER))  # type: ignore[assignment]
    handle = Handle(next(_ids), uuid.uuid4(), "u", wire, connected_at="now", now=0.0)
    peer = Peer(trio.socket.from_stdlib_socket(theirs))
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ws._reader_task)
            nursery.start_soon(peer.serve)
            yield Conn(handle, ws, peer)
            nursery.cancel_scope.cancel()
    finally:
        await wire.aclose()
        peer.sock.close()


@asynccontextmanager
async def heartbeat(
    ping_interval: float = PING, pong_timeout: float = PONG
) -> AsyncIterator[ActorRef[HeartbeatMsg]]:
    ref, inbox = open_mailbox[HeartbeatMsg]("heartbeat", 16)
    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: serve_heartbeat(
                inbox,
                ping_interval=ping_interval,
                pong_timeout=pong_timeout,
                task_status=task_status,
            )
        )
        yield ref
        nursery.cancel_scope.cancel()


async def at(moment: float) -> None:
    await trio.sleep_until(moment)
    await trio.testing.wait_all_tasks_blocked()


async def test_a_peer_that_never_answers_is_closed_4010_at_ping_plus_pong_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(100):
        async with heartbeat() as beat, open_conn() as conn:
            conn.peer.answering = False
            start = trio.current_time()
            await beat.cast(Watch(conn.handle, conn.ws, FOREVER))
            await at(start + PING)
            assert conn.peer.pings == 1
            await at(start + PING + PONG - 0.01)
            assert conn.handle.close_code is None
            await at(start + PING + PONG)
            assert conn.handle.close_code == CloseCode.STALE


async def test_an_answering_peer_is_pinged_every_interval_and_stays_open(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(1000):
        async with heartbeat() as beat, open_conn() as conn:
            start = trio.current_time()
            await beat.cast(Watch(conn.handle, conn.ws, FOREVER))
            await at(start + 10 * PING + 1)
            assert conn.handle.close_code is None
            assert conn.peer.pings == 10
            assert conn.handle.last_pong == conn.handle.last_activity >= start + 9 * PING


async def test_token_expiry_closes_4001_at_expires_at(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(100):
        async with heartbeat() as beat, open_conn() as conn:
            expires_at = trio.current_time() + 60.0
            await beat.cast(Watch(conn.handle, conn.ws, expires_at))
            await at(expires_at - 0.01)
            assert conn.handle.close_code is None
            await at(expires_at)
            assert conn.handle.close_code == CloseCode.TOKEN_EXPIRED


async def test_extend_moves_the_expiry_and_keeps_the_pings(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(100):
        async with heartbeat(ping_interval=25.0) as beat, open_conn() as conn:
            start = trio.current_time()
            await beat.cast(Watch(conn.handle, conn.ws, start + 10.0))
            await beat.cast(Extend(conn.handle.conn_id, start + 60.0))
            await beat.cast(Extend(conn.handle.conn_id + 1, start + 1.0))  # unknown: ignored
            await at(start + 59.9)
            assert conn.handle.close_code is None
            assert conn.peer.pings == 2  # at 25 and 50 s, as before the extension
            await at(start + 60.0)
            assert conn.handle.close_code == CloseCode.TOKEN_EXPIRED


async def test_token_expiry_with_pings_off(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(100):
        async with heartbeat(ping_interval=0.0) as beat, open_conn() as conn:
            expires_at = trio.current_time() + 60.0
            await beat.cast(Watch(conn.handle, conn.ws, expires_at))
            await at(expires_at)
            assert conn.handle.close_code == CloseCode.TOKEN_EXPIRED
            assert conn.peer.pings == 0


async def test_a_stalled_reader_is_not_blamed_for_an_unread_pong(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(200):
        async with heartbeat() as beat, open_conn() as conn:
            conn.peer.answering = False
            start = trio.current_time()
            await beat.cast(Watch(conn.handle, conn.ws, FOREVER))
            conn.handle.stall_started()  # waiting on the server from before the ping
            await at(start + PING + PONG + 1)
            assert conn.handle.close_code is None
            conn.handle.stall_ended()
            # the next ping, an interval after the excused deadline, goes unanswered
            await at(start + 2 * PING + 2 * PONG + 1)
            assert conn.peer.pings == 2
            assert conn.handle.close_code == CloseCode.STALE


async def test_many_connections_one_silent(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(200):
        async with heartbeat() as beat, open_conn() as a, open_conn() as b, open_conn() as c:
            b.peer.answering = False
            start = trio.current_time()
            for conn in (a, b, c):
                await beat.cast(Watch(conn.handle, conn.ws, FOREVER))
                await trio.sleep(1)
            await at(start + 3 * PING + 5)
            assert [x.handle.close_code for x in (a, b, c)] == [None, CloseCode.STALE, None]
            assert (a.peer.pings, b.peer.pings, c.peer.pings) == (3, 1, 3)


async def test_a_forgotten_connection_is_not_pinged_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(400):
        async with heartbeat() as beat, open_conn() as conn:
            start = trio.current_time()
            await beat.cast(Watch(conn.handle, conn.ws, start + 100.0))
            await at(start + PING + 1)
            await beat.cast(Forget(conn.handle.conn_id))
            await at(start + 200.0)
            assert conn.peer.pings == 1
            assert conn.handle.close_code is None  # not even at its token's expiry


async def test_a_finished_connection_is_dropped_at_its_next_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(200):
        async with heartbeat() as beat, open_conn() as conn:
            start = trio.current_time()
            await beat.cast(Watch(conn.handle, conn.ws, FOREVER))
            conn.handle.finished = True  # its Forget was lost
            await at(start + 3 * PING)
            assert conn.peer.pings == 0
            assert conn.handle.close_code is None
