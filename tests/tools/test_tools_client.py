"""`momentum client` against a real server: commands, output, quitting, reconnecting.

Rules: a real server on port 0 with a real SQLite file; the client runs with a scripted
terminal (lines in, printed lines recorded) or, once, as a real `python -m momentum client`
process fed on stdin; real clock, an outer `trio.fail_after` in every test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, cast

import pytest
import trio

from momentum.sdk._socket import Socket, WireFormatName, _TrioSocket, open_trio_websocket
from momentum.tools import WIRE_FORMATS, BenchmarkPlan, InteractiveClient, Login, run_benchmark
from tests.server._live import API_KEY, LiveServer, mint_token, open_live_server, settings_for

from ._script import ScriptedTerminal


def by_token(server: LiveServer, token: str) -> Login:
    return Login(server_url=server.base_url, token=token)


@pytest.mark.parametrize("wire_format", ["json", "msgpack"])
async def test_a_session_sends_receives_and_quits_with_1000(
    server: LiveServer, wire_format: str
) -> None:
    """The same session in either wire format; the peer talks JSON throughout."""
    with trio.fail_after(20):
        alice, bob = await server.create_user("alice"), await server.create_user("bob")
        terminal = ScriptedTerminal()
        login = by_token(server, server.token(alice))
        selected: list[str | None] = []

        @asynccontextmanager
        async def recording(url: str, offers: Sequence[str]) -> AsyncIterator[Socket]:
            async with open_trio_websocket(url, offers) as ws:
                selected.append(ws.subprotocol)
                yield _TrioSocket(ws)

        client = InteractiveClient(
            login, terminal, wire_format=cast(WireFormatName, wire_format), connector=recording
        )
        async with trio.open_nursery() as nursery, server.connect(bob) as peer:

            async def run() -> None:
                assert await client.run() == 0

            nursery.start_soon(run)
            await terminal.wait_for("connected to")
            assert selected == [WIRE_FORMATS[wire_format]]
            await terminal.type("text Hello World!")
            got = await peer.receive_type("text")
            assert got["data"] == {"content": "Hello World!"}
            await terminal.wait_for("[text] you: Hello World!")
            await terminal.wait_for("✓ delivered to 2 connection(s)")

            await terminal.type("to bob just for you")
            direct = await peer.receive_type("text")
            assert direct["to_user_id"] == str(bob.id)
            assert direct["data"] == {"content": "just for you"}

            await terminal.type(f"to {bob.id} by id")
            assert (await peer.receive_type("text"))["data"] == {"content": "by id"}
            await terminal.type("to nobody hello")
            await terminal.wait_for("no online user named 'nobody'")

            await terminal.type("ping")
            assert "ms" in await terminal.wait_for("pong in ")

            await terminal.type("online")
            listing = await terminal.wait_for("user(s) online")
            assert "alice" in listing and "bob" in listing

            await terminal.type("stats")
            assert "{" not in await terminal.wait_for("total connections")

            await terminal.type('json {"message_type": "notification", "data": {"n": 1}}')
            assert (await peer.receive_type("notification"))["data"] == {"n": 1}
            await terminal.type('json {"message_type": "pong"}')
            await terminal.wait_for("! server error forbidden_type")

            await terminal.type("frobnicate")
            await terminal.wait_for("unknown command 'frobnicate'; type help")
            await terminal.type("help")
            await terminal.wait_for("to <user> <message>")

            await peer.send(message_type="text", to_user_id=str(alice.id), data={"content": "yo"})
            await terminal.wait_for("[text] bob → you: yo")

            await terminal.type("quit")
            await terminal.wait_for("closed (1000)")
        await server.wait_connections(0)
        assert client.closed_with == 1000


async def test_ctrl_d_quits_cleanly(server: LiveServer) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        terminal = ScriptedTerminal()
        client = InteractiveClient(by_token(server, server.token(user)), terminal)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.run)
            await terminal.wait_for("connected to")
            await terminal.end_of_input()
        assert client.status == 0
        assert client.closed_with == 1000


async def test_register_then_log_in_and_wrong_password(server: LiveServer) -> None:
    with trio.fail_after(20):
        login = Login(
            server_url=server.base_url,
            username="developer",
            email="dev@example.com",
            password="correct horse",
            register=True,
        )
        for expected in ("registered developer <dev@example.com>", "already taken"):
            terminal = ScriptedTerminal()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(InteractiveClient(login, terminal).run)
                await terminal.wait_for(expected)
                await terminal.wait_for("connected to")
                await terminal.type("quit")

        terminal = ScriptedTerminal()
        wrong = Login(server_url=server.base_url, username="developer", password="wrong pass")
        assert await InteractiveClient(wrong, terminal).run() == 1
        assert "wrong username/email or password" in terminal.text()


async def test_server_down_and_refused_handshake_say_why(
    server: LiveServer, tmp_path: Path
) -> None:
    with trio.fail_after(20):
        terminal = ScriptedTerminal()
        down = Login(server_url="http://127.0.0.1:9", username="x", password="whatever1")
        assert await InteractiveClient(down, terminal).run() == 1
        assert "cannot reach http://127.0.0.1:9/auth/login" in terminal.text()

        terminal = ScriptedTerminal()
        user = await server.create_user()
        never = Login(server_url="http://127.0.0.1:9", token=server.token(user))
        assert await InteractiveClient(never, terminal).run() == 1
        assert "is the server running at that URL?" in terminal.text()
        assert "reconnecting" not in terminal.text()

        terminal = ScriptedTerminal()
        stranger = await server.create_user(active=False)
        login = by_token(server, server.token(stranger))
        assert await InteractiveClient(login, terminal).run() == 1
        assert "handshake refused: 403 user_disabled" in terminal.text()


async def test_close_4003_stops_without_reconnecting(server: LiveServer) -> None:
    with trio.fail_after(20):
        user = await server.create_user()
        terminal = ScriptedTerminal()
        client = InteractiveClient(by_token(server, server.token(user)), terminal)
        async with trio.open_nursery() as nursery:

            async def run() -> None:
                assert await client.run() == 1

            nursery.start_soon(run)
            await terminal.wait_for("connected to")
            async with server.http() as http:
                reply = await http.patch(
                    f"/users/{user.id}", headers={"X-API-Key": API_KEY}, json={"is_active": False}
                )
                assert reply.status_code == 200
            await terminal.wait_for("close code 4003 means do not reconnect")
        assert "reconnecting" not in terminal.text()


async def test_reconnects_with_backoff_when_the_server_comes_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/momentum.db"
    with trio.fail_after(30):
        terminal = ScriptedTerminal()
        async with trio.open_nursery() as nursery:
            async with open_live_server(settings_for(url)) as first:
                port = first.port
                user = await first.create_user("phoenix")
                client = InteractiveClient(by_token(first, first.token(user)), terminal)
                nursery.start_soon(client.run)
                await terminal.wait_for("connected to")
            await terminal.wait_for(
                "the server closed the connection: 1001 GOING_AWAY (the server is shutting down)"
            )
            mark = len(terminal.output)
            await terminal.wait_for("reconnecting in ", after=mark)
            async with open_live_server(settings_for(url, bind=f"127.0.0.1:{port}")):
                await terminal.wait_for("connected to", after=mark, timeout=15)
                await terminal.type("ping")
                await terminal.wait_for("pong in ")
                await terminal.type("quit")
                await terminal.wait_for("closed (1000)")
        assert client.status == 0


async def test_the_real_command_reads_commands_from_stdin(server: LiveServer) -> None:
    # Input stays open until the echo of the text is shown: at end of input the client
    # closes at once, and a reply still on its way then would be lost.
    echo = b"[text] you: from a pipe"
    output = bytearray()
    with trio.fail_after(30):
        user = await server.create_user("piper")
        command = [sys.executable, "-m", "momentum", "client", "--server-url", server.base_url]
        command += ["--token", server.token(user)]
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
        async with trio.open_nursery() as nursery:
            process: trio.Process = await nursery.start(
                partial(trio.run_process, command, check=False, **pipes)
            )
            assert process.stdin is not None and process.stdout is not None
            await process.stdin.send_all(b"text from a pipe\nping\nbogus\n")
            while echo not in output and (chunk := await process.stdout.receive_some()):
                output += chunk
            await process.stdin.aclose()
            async for chunk in process.stdout:
                output += chunk
    out = output.decode()
    assert process.returncode == 0, out
    assert "connected to" in out
    assert "[text] you: from a pipe" in out
    assert "unknown command 'bogus'" in out
    assert "closed (1000). bye" in out  # end of input quits


@pytest.mark.parametrize("wire_format", ["json", "msgpack"])
async def test_benchmark_summary_is_consistent(
    server: LiveServer, capsys: pytest.CaptureFixture[str], wire_format: str
) -> None:
    with trio.fail_after(20):
        user = await server.create_user()
        plan = BenchmarkPlan(messages=30, rate=500, payload_size=16, wire_format=wire_format)
        status = await run_benchmark(
            by_token(server, server.token(user)), plan, as_json=True, progress=False
        )
    assert status == 0
    summary: dict[str, Any] = json.loads(capsys.readouterr().out)
    messages = summary["messages"]
    assert messages["sent"] == 30
    assert messages["sent"] == messages["received"] + messages["lost"]
    assert messages["received"] == 30  # within the default burst of 40
    latency = messages["latency_ms"]
    assert latency["count"] == 30
    assert 0 <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    assert summary["connections"]["opened"] == 1


def test_help_lists_the_documented_flags() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "momentum", "client", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for flag in ("--username", "--email", "--benchmark", "--messages", "--interval"):
        assert flag in out


def test_version_is_printed() -> None:
    from momentum import __version__

    out = subprocess.run(
        [sys.executable, "-m", "momentum", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"momentum {__version__}"


async def test_logs_in_again_when_a_restarted_server_refuses_its_token(tmp_path: Path) -> None:
    """A server without JWT_SECRET draws a new secret at each start: after a restart the
    old token fails its signature check (401 token_invalid). With a password the client
    logs in again and carries on; with a token alone it stops, saying why."""
    url = f"sqlite:///{tmp_path}/momentum.db"
    password = "phoenix-passphrase"
    with trio.fail_after(40):
        terminal = ScriptedTerminal()
        async with trio.open_nursery() as nursery:
            async with open_live_server(settings_for(url)) as first:
                port = first.port
                async with first.http() as http:
                    body = {"username": "phoenix", "email": "p@example.com", "password": password}
                    assert (await http.post("/auth/register", json=body)).status_code == 201
                login = Login(server_url=first.base_url, username="phoenix", password=password)
                client = InteractiveClient(login, terminal)
                nursery.start_soon(client.run)
                await terminal.wait_for("connected to")
            mark = len(terminal.output)
            await terminal.wait_for("reconnecting in ", after=mark)
            other = settings_for(url, bind=f"127.0.0.1:{port}", jwt_secret="another-secret-" * 3)
            async with open_live_server(other):
                await terminal.wait_for("token refused; reconnecting", after=mark, timeout=15)
                await terminal.wait_for("logging in to", after=mark, timeout=15)
                await terminal.wait_for("connected to", after=mark, timeout=15)
                await terminal.type("quit")
                await terminal.wait_for("closed (1000)")
        assert client.status == 0


async def test_a_refused_token_without_a_password_stops(server: LiveServer) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        forged = mint_token(user.id, key="not-the-server-secret-" * 2)
        terminal = ScriptedTerminal()
        client = InteractiveClient(by_token(server, forged), terminal)
        assert await client.run() == 1
        assert "token_invalid" in terminal.text()
