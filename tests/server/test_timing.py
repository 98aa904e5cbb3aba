"""Time-driven behaviour on Trio's autojump clock: heartbeat, janitor, token expiry, heads.

Rules: a real server on port 0 and real sockets, but an in-memory store (SQLite answers from
a thread, and the autojump clock would run ahead while it works); the clock only moves when
every task waits, so times are asserted exactly, to the small margin the handshake takes.
Misbehaving peers are raw clients (tests/server/_raw.py) that never answer pings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
import trio.testing

from tests._memory_store import MemoryStore

from ._live import LiveServer, open_live_server, settings_for
from ._raw import http_request, open_raw

MARGIN = 0.5


@asynccontextmanager
async def timed_server(**overrides: Any) -> AsyncIterator[LiveServer]:
    settings = settings_for("sqlite:///:memory:", **overrides)
    async with open_live_server(settings, store=MemoryStore()) as live:
        yield live


async def test_silent_peer_is_closed_4010_after_ping_interval_plus_pong_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(100):
        async with timed_server(ping_interval=25.0, pong_timeout=10.0) as server:
            user = await server.create_user()
            raw = await open_raw(server.port)
            head = await raw.handshake(server.port, server.token(user))
            assert head.startswith(b"HTTP/1.1 101")
            opened = trio.current_time()
            close = await raw.read_until_close()
            assert close is not None and close.close_code == 4010
            assert 35.0 <= trio.current_time() - opened <= 35.0 + MARGIN


async def test_answering_peer_stays_open_across_many_pings(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(400):
        async with timed_server(ping_interval=25.0, pong_timeout=10.0) as server:
            user = await server.create_user()
            async with server.connect(user) as client:
                await trio.sleep(300)  # trio-websocket answers every ping by itself
                await client.roundtrip()
                assert client.ws.closed is None


async def test_janitor_closes_idle_connections_4010_and_spares_active_ones(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(1000):
        async with timed_server(ping_interval=0.0, cleanup_interval=300.0) as server:
            idle_user, busy_user = await server.create_user(), await server.create_user()
            started = trio.current_time()
            async with server.connect(idle_user) as idle, server.connect(busy_user) as busy:

                async def stay_busy() -> None:
                    while True:
                        await trio.sleep(100)
                        await busy.roundtrip()

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(stay_busy)
                    code = await idle.wait_closed(timeout=1000)
                    closed_at = trio.current_time() - started
                    nursery.cancel_scope.cancel()
                assert code == 4010
                # sweeps run every 60 s; the first that finds it idle for 300 s is at 360 s
                assert 360.0 <= closed_at <= 360.0 + MARGIN
                await busy.roundtrip()


async def test_cleanup_endpoint_runs_the_janitor_now(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(100):
        async with timed_server(ping_interval=0.0, cleanup_interval=30.0) as server:
            user = await server.create_user()
            async with server.connect(user) as client:
                await trio.sleep(31)  # idle past the limit, before the next sweep at 6 s steps
                assert await client.wait_closed(timeout=10) == 4010


async def test_token_expiry_closes_4001_at_exp(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(300):
        async with timed_server(jwt_ttl=100.0, jwt_leeway=0.0, ping_interval=0.0) as server:
            user = await server.create_user()
            async with server.connect(user) as client:
                opened = trio.current_time()
                assert await client.wait_closed(timeout=200) == 4001
                # `exp` is whole seconds (up to 1 s short of the TTL), and the wall clock
                # moves on between minting the token and the handshake.
                assert 98.0 <= trio.current_time() - opened <= 100.0 + MARGIN


async def test_incomplete_request_head_is_dropped_at_the_handshake_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(100):
        async with timed_server(handshake_timeout=10.0) as server:
            raw = await open_raw(server.port)
            await raw.stream.send_all(b"GET /ws?token=x HTTP/1.1\r\nHost: a\r\n")
            sent = trio.current_time()
            assert await raw.read_frame() is None  # dropped, nothing written back
            assert 10.0 <= trio.current_time() - sent <= 10.0 + MARGIN
            user = await server.create_user()
            async with server.connect(user) as client:
                await client.roundtrip()


async def test_oversized_request_head_is_dropped_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(100):
        async with timed_server(head_limit=1024) as server:
            raw = await open_raw(server.port)
            sent = trio.current_time()
            await raw.stream.send_all(b"GET /ws HTTP/1.1\r\nX-Filler: " + b"a" * 4096)
            assert await raw.read_frame() is None
            assert trio.current_time() - sent <= MARGIN


async def test_past_the_pending_limit_the_oldest_silent_connection_is_dropped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(100):
        async with timed_server(handshake_timeout=10.0, max_pending_handshakes=3) as server:
            user = await server.create_user()
            silent = [await open_raw(server.port) for _ in range(3)]
            await trio.testing.wait_all_tasks_blocked()
            started = trio.current_time()
            async with server.connect(user) as client:  # the newest gets in
                await client.roundtrip()
            assert await silent[0].read_frame() is None  # the oldest made room, at once
            assert trio.current_time() - started <= MARGIN
            for raw in silent[1:]:  # the others are dropped at the head deadline
                assert await raw.read_frame() is None
            assert trio.current_time() - started >= 10.0 - MARGIN


async def test_an_idle_http_keep_alive_connection_is_closed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # hypercorn's own keep-alive timer does not fire here: a connection that stayed open
    # after one request held a descriptor for ever. Idle is max(keep_alive_timeout 5 s,
    # 2 * CALL_TIMEOUT) + 1 = 11 s of no byte either way.
    with trio.fail_after(100):
        async with timed_server() as server:
            kept = await trio.open_tcp_stream("127.0.0.1", server.port)
            silent = await trio.open_tcp_stream("127.0.0.1", server.port)
            await kept.send_all(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer:
                answer += await kept.receive_some()
            assert answer.startswith(b"HTTP/1.1 200")
            answered = trio.current_time()
            while await kept.receive_some():  # the rest of the body, then the server's close
                pass
            assert 11.0 <= trio.current_time() - answered <= 11.0 + MARGIN
            assert await silent.receive_some() == b""  # no head at all: dropped at 10 s
            await kept.aclose()
            await silent.aclose()


async def test_a_connection_close_request_is_closed_once_answered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The answer went out at once, but the socket stayed open until the idle close (11 s):
    # Quart-Trio cancels the task in which hypercorn closes the connection, and the close
    # stopped at its first checkpoint. Each such request held an HTTP connection slot.
    with trio.fail_after(100):
        async with timed_server(http_max_connections_per_ip=1) as server:
            for _ in range(2):  # the second gets in: the first gave its slot back
                raw = await open_raw(server.port)
                sent = trio.current_time()
                answer = await http_request(raw, "/health")
                assert answer is not None and answer.status == 200
                assert not await raw.fill()  # the end of the stream, at once
                assert trio.current_time() - sent <= MARGIN
                await raw.stream.aclose()
                await trio.testing.wait_all_tasks_blocked()  # the server's side is done
