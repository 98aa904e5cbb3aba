"""The TypeScript SDK end to end: Node clients (sdk/js/e2e/scenarios.mjs) against a real
server with a SQLite file, restarted on the same port for the recovery test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.server._live import API_KEY, LiveServer, open_live_server, settings_for

from ._node import PASSWORD, SDK, node_script

SCENARIOS = SDK / "e2e" / "scenarios.mjs"

pytestmark = [pytest.mark.usefixtures("sdk_js"), pytest.mark.slow]


async def register(server: LiveServer, *names: str) -> dict[str, str]:
    """Accounts with a password (the scripts sign in over HTTP): name → user id."""
    ids = {}
    async with server.http() as http:
        for name in names:
            body = {"email": f"{name}@example.test", "username": name, "password": PASSWORD}
            reply = await http.post("/auth/register", json=body)
            assert reply.status_code == 201, reply.text
            ids[name] = reply.json()["user"]["id"]
    return ids


async def create_room(server: LiveServer, owner: str) -> str:
    async with server.http() as http:
        reply = await http.post(
            "/rooms", json={"name": "general", "owner_id": owner}, headers={"X-API-Key": API_KEY}
        )
        assert reply.status_code == 201, reply.text
        room_id: str = reply.json()["room"]["id"]
        return room_id


def script_env(server: LiveServer, **extra: Any) -> dict[str, Any]:
    ws = f"ws://127.0.0.1:{server.port}/ws"
    return {"base": server.base_url, "ws": ws, "password": PASSWORD, **extra}


@asynccontextmanager
async def started(tmp_path: Path, **overrides: Any) -> AsyncIterator[LiveServer]:
    settings = settings_for(f"sqlite:///{tmp_path}/momentum.db", **overrides)
    async with open_live_server(settings) as server:
        yield server


async def test_direct_message_stored_delivered_and_in_history(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with started(tmp_path) as server:
            ids = await register(server, "alice", "bob")
            async with node_script(SCENARIOS, "direct", env=script_env(server)) as script:
                result = await script.result()
    assert result["sent"]["delivered"] == 1
    assert result["received"] == {
        "id": result["sent"]["messageId"],
        "content": "hello bob",
        "from": ids["alice"],
    }
    assert result["history"] == ["hello bob"]
    assert result["online"] == ["alice", "bob"]


async def test_room_publish_and_receive(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with started(tmp_path) as server:
            ids = await register(server, "alice", "bob")
            room = await create_room(server, ids["alice"])
            env = script_env(server, room=room)
            async with node_script(SCENARIOS, "room", env=env) as script:
                result = await script.result()
    assert [j["recovered"] for j in result["joined"]] == [True, True]
    assert result["published"] == {
        "messageId": result["published"]["messageId"],
        "roomId": room,
        "offset": 1,
    }
    assert result["received"] == {"content": "hello room", "offset": 1}
    assert result["stored"] == ["hello room"]


async def test_nothing_is_lost_when_the_server_restarts(tmp_path: Path) -> None:
    """Bob comes back ~8 s after the restart; meanwhile a room message and a direct message
    are sent to him, and Alice sends one while the server is down (queued by her SDK)."""
    with trio.fail_after(90):
        async with AsyncExitStack() as stack:
            async with started(tmp_path) as server:
                port = server.port
                ids = await register(server, "alice", "bob")
                room = await create_room(server, ids["alice"])
                env = script_env(server, room=room)
                script = await stack.enter_async_context(node_script(SCENARIOS, "restart", env=env))
                await script.step("ready")
            # stopped; the same database and port again
            async with started(tmp_path, bind=f"127.0.0.1:{port}") as again:
                await send_while_bob_is_away(again, room, ids["bob"])
                result = await script.result()
    log = result["log"]
    assert result["stored"]["messageId"]  # queued by alice's SDK, stored once the server was back
    room_messages = [e["content"] for e in log if e["kind"] == "room"]
    assert room_messages == ["before", "while away", "after"]  # each once, in order
    assert [e["offset"] for e in log if e["kind"] == "room"] == [1, 2, 3]
    resumed = [i for i, e in enumerate(log) if e["kind"] == "recovered"][-1]
    assert log[resumed]["recovered"] is True
    missed = log.index({"kind": "room", "content": "while away", "offset": 2})
    assert missed < resumed  # recovered from the offset, not received live
    direct = sorted(e["content"] for e in log if e["kind"] == "direct")
    assert direct == ["from the backend", "sent while the server was down"]


async def send_while_bob_is_away(server: LiveServer, room: str, bob: str) -> None:
    key = {"X-API-Key": API_KEY}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        reply = await http.post(
            f"/rooms/{room}/messages", json={"data": {"content": "while away"}}, headers=key
        )
        assert reply.status_code == 201, reply.text
        body = {"to_user_id": bob, "message_type": "text", "data": {"content": "from the backend"}}
        reply = await http.post("/ws/send", json=body, headers=key)
        assert reply.status_code == 200, reply.text
        assert reply.json()["delivered"] == 0, "bob came back too early for the test"


async def test_a_live_connection_outlives_its_tokens(tmp_path: Path) -> None:
    """Tokens of 4 s, a connection of 10 s: the SDK hands over new tokens in-band."""
    with trio.fail_after(60):
        async with started(tmp_path, jwt_ttl=4.0, jwt_leeway=0.0) as server:
            await register(server, "alice", "bob")
            env = script_env(server, lifeMs=10_000)
            async with node_script(SCENARIOS, "refresh", env=env) as script:
                result = await script.result()
    assert result["tokens"] >= 3
    assert result["states"] == []  # never dropped
    assert result["sent"]["delivered"] == 1
