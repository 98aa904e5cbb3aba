"""Socket-level abuse on a real server: control-frame floods, pings after the close, too
many connections from one address.

The attacks reproduced: a client sending WebSocket pings as fast as it can (870,800 in 8 s
took a core: trio-websocket answered each one and the rate limiter never saw them); a ping
arriving after the server's close frame (it crashed the connection actor); one address
holding every connection it likes, WebSocket or HTTP (the slow-head attack is in
test_security_slowloris.py).

Rules: a real server on port 0 with a real SQLite file, raw clients (tests/server/_raw.py)
that write exactly the frames the test says, from distinct 127.x addresses where a test
needs several clients, the real clock; every test under
`trio.fail_after`, and no assertion on how fast anything runs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest
import trio
import trio_websocket

from momentum.storage import User
from momentum.wire import TrustedProxies

from ._live import LiveServer, assert_serves, custom_server, expect_refused
from ._raw import Frame, RawClient, http_request, open_raw, refused_counts

PING, PONG, CLOSE = 0x9, 0xA, 0x8


async def _count_until_close(raw: RawClient) -> tuple[int, int | None]:
    """Pongs received before the server's close frame, and its close code."""
    pongs = 0
    while True:
        frame = await raw.read_frame()
        if frame is None:
            return pongs, None
        if frame.opcode == PONG:
            pongs += 1
        elif frame.opcode == CLOSE:
            return pongs, frame.close_code


@pytest.mark.parametrize("opcode", [PING, PONG])
async def test_a_control_frame_flood_is_closed_4008_like_a_message_flood(
    tmp_path: Path, opcode: int, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(15):
        async with custom_server(tmp_path, rate_limit=20.0, rate_burst=40) as server:
            user = await server.create_user()
            raw = await open_raw(server.port)
            async with raw.stream:
                assert (await raw.handshake(server.port, server.token(user))).startswith(
                    b"HTTP/1.1 101"
                )
                async with trio.open_nursery() as nursery:

                    async def flood() -> None:
                        # far more than the burst, and more after the close frame: a peer
                        # that keeps pinging once closed must not crash anything
                        for n in range(2000):
                            try:
                                await raw.send_frame(opcode, str(n).encode())
                            except trio.BrokenResourceError:
                                return

                    nursery.start_soon(flood)
                    pongs, code = await _count_until_close(raw)
                assert code == 4008
                # the burst, and what the bucket refilled meanwhile; never the whole flood
                assert pongs < 200 if opcode == PING else pongs == 0
            await assert_serves(server)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_ping_after_the_close_frame_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The server closes (the user is disabled: 4003); the client pings before answering
    the close. wsproto refuses to send a pong past OPEN, which used to end trio-websocket's
    reader task with an error."""
    with trio.fail_after(15):
        async with custom_server(tmp_path) as server:
            user, admin = await server.create_user(), await server.create_user(admin=True)
            raw = await open_raw(server.port)
            async with raw.stream:
                assert (await raw.handshake(server.port, server.token(user))).startswith(
                    b"HTTP/1.1 101"
                )
                await raw.send_frame(PING, b"before")
                assert (await raw.read_frame()) == Frame(PONG, b"before")
                reply = await server.set_active(user, False, admin=admin)
                assert reply.status_code == 200
                close = await raw.read_until_close()
                assert close is not None and close.close_code == 4003
                await raw.send_frame(PING, b"after")
                await raw.send_frame(CLOSE, close.payload)
                assert await raw.read_frame() is None  # no pong: the socket just ends
            await assert_serves(server)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# -- connections per client address ------------------------------------------------------


async def test_websocket_connections_per_address_are_limited_429(tmp_path: Path) -> None:
    with trio.fail_after(20):
        async with custom_server(tmp_path, max_connections_per_ip=2) as server:
            user = await server.create_user()
            url = server.ws_url(server.token(user))
            async with server.connect(user), server.connect(user) as second:
                refusal = await expect_refused(url)
                assert (refusal.status, refusal.code) == (429, "too_many_connections")
                assert refusal.content_type == "application/json"
                other = await open_raw(server.port, source="127.0.0.3")
                async with other.stream:  # another address has its own share
                    head = await other.handshake(server.port, server.token(user))
                    assert head.startswith(b"HTTP/1.1 101")
                await second.ws.aclose()
                await _connect_when_free(server, user)  # a closed connection frees its slot
            assert (await refused_counts(server.port)).get("websocket_per_ip") == 1


async def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(tmp_path: Path) -> None:
    proxies = TrustedProxies.parse("127.0.0.1")
    with trio.fail_after(20):
        async with custom_server(
            tmp_path, max_connections_per_ip=1, trusted_proxies=proxies
        ) as server:
            user = await server.create_user()
            url = server.ws_url(server.token(user))

            def via(client: str) -> list[tuple[str, str]]:
                return [("X-Forwarded-For", client)]

            async with server.connect(user, extra_headers=via("203.0.113.7")):
                refusal = await expect_refused(url, extra_headers=via("203.0.113.7"))
                assert (refusal.status, refusal.code) == (429, "too_many_connections")
                async with server.connect(user, extra_headers=via("203.0.113.8")) as other:
                    await other.roundtrip()


async def test_http_connections_per_address_and_in_all_are_limited(tmp_path: Path) -> None:
    with trio.fail_after(20):
        async with custom_server(
            tmp_path, http_max_connections_per_ip=2, http_max_connections=3
        ) as server:
            kept = []
            for source in ("127.0.0.1", "127.0.0.1", "127.0.0.4"):
                raw = await open_raw(server.port, source=source)
                answer = await http_request(raw, "/health", keep_alive=True)
                assert answer is not None and answer.status == 200
                kept.append(raw)
            third = await open_raw(server.port, source="127.0.0.1")
            answer = await http_request(third, "/health")
            assert answer is not None and answer.status == 429
            assert answer.headers[b"content-type"] == b"application/json"
            assert orjson.loads(answer.body)["error"]["code"] == "too_many_connections"
            full = await open_raw(server.port, source="127.0.0.5")
            answer = await http_request(full, "/health")
            assert answer is not None and answer.status == 503
            assert orjson.loads(answer.body)["error"]["code"] == "server_full"
            user = await server.create_user()
            async with server.connect(user) as client:  # WebSockets are counted apart
                await client.roundtrip()
            for raw in (*kept, third, full):
                await raw.stream.aclose()
            counts = await refused_counts(server.port)
            assert (counts.get("http_per_ip"), counts.get("http_full")) == (1, 1)


async def _connect_when_free(server: LiveServer, user: User) -> None:
    """Connect once the server has let go of a closed connection (it finishes its side of
    the close after the client's)."""
    while True:
        try:
            async with server.connect(user) as client:
                await client.roundtrip()
                return
        except trio_websocket.ConnectionRejected:
            await trio.sleep(0.01)
