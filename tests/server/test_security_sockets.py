"""Socket-level abuse on a real server: control-frame floods, pings after the close.

The attacks reproduced: a client sending WebSocket pings as fast as it can (870,800 in 8 s
took a core: trio-websocket answered each one and the rate limiter never saw them), and a
ping arriving after the server's close frame.

Rules: a real server on port 0 with a real SQLite file, raw clients (tests/server/_raw.py)
that write exactly the frames the test says, the real clock; every test under
`trio.fail_after`, and no assertion on how fast anything runs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio

from ._live import assert_serves, custom_server
from ._raw import Frame, RawClient, open_raw

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
                async with server.http() as http:
                    reply = await http.patch(
                        f"/users/{user.id}",
                        json={"is_active": False},
                        headers={"Authorization": f"Bearer {server.token(admin)}"},
                    )
                assert reply.status_code == 200
                close = await raw.read_until_close()
                assert close is not None and close.close_code == 4003
                await raw.send_frame(PING, b"after")
                await raw.send_frame(CLOSE, close.payload)
                assert await raw.read_frame() is None  # no pong: the socket just ends
            await assert_serves(server)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
