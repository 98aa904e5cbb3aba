"""What the interactive client prints: names, message times, presence, stats, own messages.

Rules: real servers on port 0 with real SQLite files; real WebSocket clients as the other
users; the client runs with a scripted terminal (lines in, printed lines recorded); real
clock (one test sleeps 1.1 s, so a message arrives in another second than it was sent); an
outer `trio.fail_after` in every test.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio

from momentum.storage import User
from momentum.tools import InteractiveClient, Login
from momentum.tools._display import clock
from tests.server._live import Client, LiveServer, custom_server

from ._script import ScriptedTerminal


@asynccontextmanager
async def open_client(server: LiveServer, user: User) -> AsyncIterator[ScriptedTerminal]:
    """The interactive client connected as `user`; quits (1000) on the way out."""
    terminal = ScriptedTerminal()
    login = Login(server_url=server.base_url, token=server.token(user))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(InteractiveClient(login, terminal).run)
        await terminal.wait_for("connected to")
        yield terminal
        await terminal.type("quit")


@dataclass
class Pair:
    alice: User
    bob: User
    peer: Client  # bob, online first
    terminal: ScriptedTerminal  # alice's interactive client


@asynccontextmanager
async def bob_then_alice(server: LiveServer) -> AsyncIterator[Pair]:
    alice, bob = await server.create_user("alice"), await server.create_user("bob")
    async with server.connect(bob) as peer:
        await peer.roundtrip()
        async with open_client(server, alice) as terminal:
            yield Pair(alice, bob, peer, terminal)


async def test_senders_online_before_us_are_shown_by_name(server: LiveServer) -> None:
    with trio.fail_after(20):
        async with bob_then_alice(server) as pair:
            await pair.peer.send(message_type="text", data={"content": "hello all"})
            await pair.terminal.wait_for("[text] bob: hello all")
            to_alice = str(pair.alice.id)
            await pair.peer.send(message_type="text", to_user_id=to_alice, data={"content": "hi"})
            await pair.terminal.wait_for("[text] bob → you: hi")
        assert str(pair.bob.id)[:8] not in "\n".join(pair.terminal.output)


async def test_a_replayed_message_shows_when_it_was_sent(server: LiveServer) -> None:
    with trio.fail_after(20):
        alice, bob = await server.create_user("alice"), await server.create_user("bob")
        async with server.connect(bob) as peer:
            content = {"content": "while you were away"}
            await peer.send(message_type="text", to_user_id=str(alice.id), data=content)
            await peer.receive_type("ack")
            async with server.http() as http:
                history = await http.get(
                    f"/ws/history?with={alice.id}",
                    headers={"Authorization": f"Bearer {server.token(bob)}"},
                )
            sent_at = history.json()["messages"][0]["timestamp"]
            await trio.sleep(1.1)  # so that its arrival is in another second than its sending
            assert clock(sent_at) != clock(None)
            async with open_client(server, alice) as terminal:
                line = await terminal.wait_for("[text] bob → you: while you were away")
        assert line.startswith(f"{clock(sent_at)} [text]")


async def test_a_crowd_joining_is_one_short_line(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with custom_server(tmp_path, presence_interval=1.0) as server:
            crowd = [await server.create_user() for _ in range(12)]
            alice = await server.create_user("alice")
            async with open_client(server, alice) as terminal, trio.open_nursery() as nursery:
                await trio.sleep(1.2)  # alice's own announcement is out of the way
                mark = len(terminal.output)
                stop = trio.Event()
                for user in crowd:
                    nursery.start_soon(hold_connection, server, user, stop)
                joined = 0
                while joined < len(crowd):
                    line = await terminal.wait_for(" joined", after=mark)
                    mark = terminal.output.index(line) + 1
                    assert len(line) < 40, line
                    counted = re.search(r"\* (\d+) users joined$", line)
                    joined += int(counted.group(1)) if counted else line.count(",") + 1
                    assert counted or len(crowd) <= 5
                stop.set()
        assert joined == len(crowd)


async def hold_connection(server: LiveServer, user: User, stop: trio.Event) -> None:
    async with server.connect(user):
        await stop.wait()


async def test_stats_read_as_text(server: LiveServer) -> None:
    with trio.fail_after(20):
        async with open_client(server, await server.create_user("alice")) as terminal:
            await terminal.type("stats")
            await terminal.wait_for("server statistics:")
            listing = await terminal.wait_for("total connections")
            await terminal.wait_for("messages by type")
            await terminal.wait_for("server uptime")
        text = "\n".join(terminal.output)
        assert re.search(r"^  total connections\s+1$", listing, re.MULTILINE)
        assert "{" not in text and "'" not in text


async def test_own_direct_messages_are_shown_once_acked(server: LiveServer) -> None:
    with trio.fail_after(20):
        async with bob_then_alice(server) as pair:
            await pair.terminal.type("to bob are you there?")
            got = await pair.peer.receive_type("text")
            assert got["data"] == {"content": "are you there?"}
            echo = await pair.terminal.wait_for("[text] you → bob: are you there?")
            assert "✓ delivered to 1 connection(s), stored until read" in echo
        alice = pair.alice
        carol = await server.create_user("carol")  # never online: no presence names her
        async with open_client(server, alice) as terminal:
            await terminal.type(f"to {carol.id} later then")  # offline, never seen: an id prefix
            echo = await terminal.wait_for(f"[text] you → {str(carol.id)[:8]}: later then")
            assert "✓ stored: delivered when they connect" in echo
            await terminal.type("to alice note to self")
            await terminal.wait_for("[text] you → you: note to self")
            await terminal.type("ping")
            await terminal.wait_for("pong in")
        assert "\n".join(terminal.output).count("note to self") == 1  # the server's copy only


async def test_a_sender_not_announced_yet_is_looked_up(tmp_path: Path) -> None:
    # Presence goes out every 5 s here: carol's message arrives long before her announcement.
    with trio.fail_after(30):
        async with custom_server(tmp_path, presence_interval=5.0) as server:
            alice, carol = await server.create_user("alice"), await server.create_user("carol")
            async with open_client(server, alice) as terminal, server.connect(carol) as peer:
                await peer.send(message_type="text", data={"content": "first!"})
                line = await terminal.wait_for("first!")
                assert "* carol joined" not in terminal.text()
        assert line.endswith("[text] carol: first!")
