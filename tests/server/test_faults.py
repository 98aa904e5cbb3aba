"""Faults injected on purpose: what survives and what is cleaned up.

Rules: a real server on port 0 with a real SQLite file, real clients, real clock; every
test under fail_after. Crashes are injected by patching one function the connection actor
calls, for one marked message only; slow consumers are raw clients with a tiny receive
buffer that never read. The SIGTERM test runs `python -m momentum serve` as a real process.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from momentum.auth import TokenCodec
from momentum.connection import _reader as connection_module
from momentum.protocol import parse_client_message
from momentum.storage import NewUser, open_store

from ._live import SECRET, LiveServer, custom_server
from ._raw import open_raw


async def test_crashed_connection_actor_is_cleaned_up_and_others_carry_on(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def exploding_parse(text: str, **kwargs: Any) -> Any:
        if "boom" in text:
            raise RuntimeError("injected crash")
        return parse_client_message(text, **kwargs)

    monkeypatch.setattr(connection_module, "parse_client_message", exploding_parse)
    with trio.fail_after(20):
        victim_user, other_user = await server.create_user(), await server.create_user()
        # `other` is connected first, so the victim's arrival is announced to it
        async with server.connect(other_user) as other:
            await server.wait_connections(1)
            async with server.connect(victim_user) as victim:
                await server.wait_connections(2)
                # presence is coalesced: wait until the victim's arrival has been announced
                joined: set[str] = set()
                while str(victim_user.id) not in joined:
                    announced = await other.receive_type("user_joined")
                    joined |= {u["user_id"] for u in announced["data"]["users"]}
                await victim.send(message_type="text", data={"content": "boom"})
                assert await victim.wait_closed() == 1011
                await server.wait_connections(1)
                left = await other.receive_type("user_left")
                assert left["data"]["user_id"] == str(victim_user.id)
                await other.send(message_type="text", data={"content": "still here"})
                got = await other.receive_type("text")
                assert got["data"] == {"content": "still here"}
                stats = await server.stats()
                assert stats["unique_users"] == 1
                assert stats["hub_errors"] == 0
        crash_logs = [
            r for r in caplog.records if "injected crash" in str(r.exc_info) + r.getMessage()
        ]
        assert crash_logs, "the supervisor logs the crash"
        # the victim can come back: its slot was released
        async with server.connect(victim_user) as again:
            await again.roundtrip()


async def test_slow_consumer_is_closed_4009_while_others_receive_everything(
    tmp_path: Path,
) -> None:
    count, payload = 300, "x" * 16_000
    with trio.fail_after(60):
        async with custom_server(tmp_path, rate_limit=0.0, outbox_size=32) as server:
            slow_user, fast_user = await server.create_user(), await server.create_user()
            slow = await open_raw(server.port, rcvbuf=4096)
            head = await slow.handshake(server.port, server.token(slow_user))
            assert head.startswith(b"HTTP/1.1 101")
            async with server.connect(fast_user) as fast:
                await server.wait_connections(2)
                received = []
                for i in range(count):  # a well-behaved client: one message in flight
                    await fast.send(message_type="text", data={"i": i, "pad": payload})
                    received.append((await fast.receive_type("text"))["data"]["i"])
                    await fast.receive_type("ack")
                assert received == list(range(count))
                stats = await server.stats()
                assert stats["drops"].get("slow_consumer") == 1
                await server.wait_connections(1)
                # the slow reader finally reads: a truncated stream, then the end
                frames = 0
                while (frame := await slow.read_frame()) is not None and frame.opcode != 0x8:
                    frames += 1
                assert frames < count


async def test_disabled_user_is_closed_4003_others_untouched(server: LiveServer) -> None:
    with trio.fail_after(20):
        bad, good = await server.create_user(), await server.create_user()
        admin = await server.create_user(admin=True)
        async with server.connect(bad) as b1, server.connect(bad) as b2, server.connect(good) as g:
            async with server.http() as http:
                reply = await http.patch(
                    f"/users/{bad.id}",
                    json={"is_active": False},
                    headers={"Authorization": f"Bearer {server.token(admin)}"},
                )
            assert reply.status_code == 200
            assert reply.json()["closed_connections"] == 2
            assert await b1.wait_closed() == 4003
            assert await b2.wait_closed() == 4003
            await g.roundtrip()


def _port_from(line: str) -> int | None:
    found = re.search(r"ws://…:(\d+)/ws", line)
    return int(found.group(1)) if found else None


async def test_sigterm_drains_every_client_with_1001_and_exits_0(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/m.db"
    async with open_store(database) as store:
        users = await store.create_users(
            [NewUser(f"s{i}@example.test", f"s{i}", "!") for i in range(3)]
        )
    codec = TokenCodec(SECRET)
    env = {**os.environ, "JWT_SECRET": SECRET, "DATABASE_URL": database, "LOG_LEVEL": "INFO"}
    with trio.fail_after(30):
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "momentum", "serve", "--bind", "127.0.0.1:0"],
            env=env,
            cwd=tmp_path,
            stderr=subprocess.PIPE,
        )
        assert process.stderr is not None
        log = b""
        port = None
        while port is None:
            chunk = await process.stderr.receive_some()
            assert chunk, f"server exited early: {log.decode()}"
            log += chunk
            port = _port_from(log.decode())
        from trio_websocket import ConnectionClosed, open_websocket_url

        codes: list[int | None] = []
        async with trio.open_nursery() as nursery:

            async def hold(user_index: int, task_status: trio.TaskStatus[None]) -> None:
                user = users[user_index]
                token = codec.issue(user.id, user.email, user.username).token
                async with open_websocket_url(f"ws://127.0.0.1:{port}/ws?token={token}") as ws:
                    task_status.started()
                    try:
                        while True:
                            await ws.get_message()
                    except ConnectionClosed as closed:
                        codes.append(closed.reason.code if closed.reason else None)

            for i in range(3):
                await nursery.start(hold, i)
            process.send_signal(signal.SIGTERM)
        assert codes == [1001, 1001, 1001]
        assert await process.wait() == 0
        rest = await process.stderr.receive_some()
        assert b"Traceback" not in log + (rest or b"")


async def test_crash_is_logged_with_the_connection_name(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)

    def exploding_parse(text: str, **kwargs: Any) -> Any:
        raise ValueError("injected")

    monkeypatch.setattr(connection_module, "parse_client_message", exploding_parse)
    with trio.fail_after(20):
        user = await server.create_user()
        async with server.connect(user) as client:
            await client.send(message_type="text", data={})
            assert await client.wait_closed() == 1011
        await server.wait_connections(0)
    names = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("socket-" in name for name in names), names


async def test_a_server_stopped_past_its_drain_still_closes_connections_1001(
    tmp_path: Path,
) -> None:
    from momentum.server import serve

    from ._live import FAST_HASHER, settings_for

    settings = settings_for(f"sqlite:///{tmp_path}/m.db")
    with trio.fail_after(20):
        async with trio.open_nursery() as outer:
            scope = trio.CancelScope()

            async def run(task_status: trio.TaskStatus[Any]) -> None:
                with scope:  # cancelled from outside: no drain, no close handshake
                    await serve(
                        settings,
                        shutdown_trigger=trio.sleep_forever,
                        hasher=FAST_HASHER,
                        task_status=task_status,
                    )

            running = await outer.start(run)
            live = LiveServer(running)
            user = await live.create_user()
            async with live.connect(user) as client:
                await client.roundtrip()
                scope.cancel()
                assert await client.wait_closed() == 1001
