"""`momentum client` in rooms: `join`, `say`, `leave` against a real server.

Rules: a real server on port 0 with a real SQLite file; the client runs with a scripted
terminal (lines in, printed lines recorded); a real trio-websocket peer; real clock, an
outer `trio.fail_after` in every test.
"""

from __future__ import annotations

import uuid
from typing import Any

import trio

from momentum.tools import InteractiveClient, Login
from momentum.tools._commands import Invalid, Join, Leave, Say, parse_command
from tests.server._live import API_KEY, LiveServer

from ._script import ScriptedTerminal


def test_room_commands_are_parsed() -> None:
    room = str(uuid.uuid4())
    assert parse_command(f"join {room}") == Join(room)
    assert parse_command(f"LEAVE {room.upper()}") == Leave(room)
    assert parse_command(f"say {room}  hello there ") == Say(room, "hello there")
    for bad in ("join", "join nope", f"join {room} extra", f"say {room}", "say x hi"):
        assert isinstance(parse_command(bad), Invalid), bad


async def test_join_say_and_leave_a_room(server: LiveServer) -> None:
    with trio.fail_after(20):
        alice, bob = await server.create_user("alice"), await server.create_user("bob")
        async with server.http() as http:
            body = {"name": "general", "owner_id": str(alice.id)}
            reply = await http.post("/rooms", headers={"X-API-Key": API_KEY}, json=body)
            room = reply.json()["room"]["id"]
        terminal = ScriptedTerminal()
        login = Login(server_url=server.base_url, token=server.token(alice))
        client = InteractiveClient(login, terminal)
        async with trio.open_nursery() as nursery, server.connect(bob) as peer:
            nursery.start_soon(client.run)
            await terminal.wait_for("connected to")
            await terminal.type(f"join {room}")
            await terminal.wait_for(f"✓ joined {room[:8]} at #0")
            await peer.send(message_type="room_subscribe", data={"room_id": room})
            await peer.receive_type("ack")

            await terminal.type(f"say {room} hello room")
            await terminal.wait_for(f"✓ stored in {room[:8]} at #1")
            await terminal.wait_for(f"[text] you in {room[:8]} #1: hello room")
            got = await peer.receive_type("text")
            assert (got["room_id"], got["offset"], got["data"]) == (
                room,
                1,
                {"content": "hello room"},
            )

            hello: dict[str, Any] = {"room_id": room, "data": {"content": "hi alice"}}
            await peer.send(message_type="room_publish", data=hello)
            # "bob", or the start of bob's id when his name is not known yet (he connected
            # first: his presence may have gone out before this client joined)
            line = await terminal.wait_for(f" in {room[:8]} #2: hi alice")
            assert "[text] bob in" in line or f"[text] {str(bob.id)[:8]} in" in line

            await terminal.type(f"leave {room}")
            await terminal.wait_for(f"✓ left {room[:8]}")
            await terminal.type(f"say {room} still here?")
            await terminal.wait_for("! server error forbidden")
            await terminal.type("quit")
