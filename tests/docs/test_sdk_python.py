"""docs/sdk-python.md's examples run as written, against a real server.

Rules: the `python` blocks of the page are executed in order in one namespace (as one
module), then each example function is called against a real server on port 0 with a real
SQLite file; real SDK clients; real clock (the token example lives past a 4 s token), an
outer `trio.fail_after` in every test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import trio

from tests.server._live import API_KEY, LiveServer, custom_server

PAGE = Path(__file__).resolve().parents[2] / "docs" / "sdk-python.md"


def examples() -> dict[str, Any]:
    blocks = re.findall(r"^```python\n(.*?)^```$", PAGE.read_text("utf-8"), re.M | re.S)
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(blocks), str(PAGE), "exec"), namespace)
    return namespace


def test_the_page_has_the_examples_this_test_runs() -> None:
    names = set(examples())
    expected = {"say_hello", "echo_bot", "watch_states", "stay_signed_in", "follow_room"}
    assert expected <= names


async def test_say_hello_and_the_echo_bot(server: LiveServer) -> None:
    ex = examples()
    with trio.fail_after(20):
        alice, bot = await server.create_user("alice"), await server.create_user("bot")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ex["echo_bot"], server.base_url, server.token(bot))
            message_id = await ex["say_hello"](server.base_url, server.token(alice), str(bot.id))
            async with server.connect(alice) as peer:
                echo = await peer.receive_type("text")
            assert echo["data"] == {"content": "hello"} and echo["from_user_id"] == str(bot.id)
            assert message_id != echo["id"]
            nursery.cancel_scope.cancel()


async def test_watch_states_until_the_user_is_disabled(server: LiveServer) -> None:
    ex = examples()
    with trio.fail_after(20):
        admin, user = await server.create_user(admin=True), await server.create_user()
        lines: list[str] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ex["watch_states"], server.base_url, server.token(user), lines)
            await server.wait_connections(1)
            await server.set_active(user, False, admin=admin)
        assert lines[:2] == ["connecting: ", "connected: "]
        assert lines[-1].startswith("disconnected: closed by the server (4003")


async def test_follow_room(server: LiveServer) -> None:
    ex = examples()
    with trio.fail_after(20):
        user = await server.create_user()
        async with server.http() as http:
            body = {"name": "g", "owner_id": str(user.id)}
            room = (await http.post("/rooms", headers={"X-API-Key": API_KEY}, json=body)).json()
            room_id = room["room"]["id"]
            got: list[list[str]] = []

            async def follow() -> None:
                got.append(await ex["follow_room"](server.base_url, server.token(user), room_id, 2))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(follow)
                # the room has no history before the join: publish until two arrive
                for n in range(100):
                    reply = await http.post(
                        f"/rooms/{room_id}/messages",
                        headers={"X-API-Key": API_KEY},
                        json={"data": {"content": str(n)}},
                    )
                    assert reply.status_code == 201
                    if got:
                        break
                    await trio.sleep(0.05)
        first = int(got[0][0])
        assert got == [[str(first), str(first + 1)]]


async def test_stay_signed_in_past_the_token_expiry(tmp_path: Path) -> None:
    ex = examples()
    with trio.fail_after(30):
        async with custom_server(tmp_path, jwt_ttl=4.0) as server:
            async with server.http() as http:
                body = {"username": "dana", "email": "dana@example.com", "password": "dana-pass-1"}
                assert (await http.post("/auth/register", json=body)).status_code == 201
            assert await ex["stay_signed_in"](server.base_url, "dana", "dana-pass-1", 6.0)
