"""Presence as an opt-in (`?presence=on|off`, `WS_PRESENCE`) and the paged online list.

Rules of this module:
- A real server on port 0 (SQLite), real trio-websocket clients, httpx for HTTP.
- "Gets no presence" is checked after one that asked has seen the frame, and then with a
  ping round trip: everything the server sent before its pong has arrived.
- Online pages are walked by their `next` cursor until it is null.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio_websocket

from momentum.storage import User

from ._live import API_KEY, Client, LiveServer, custom_server, expect_refused
from ._live import received_until_roundtrip as before_pong

KEY = {"X-API-Key": API_KEY}
PRESENCE = ("user_joined", "user_left")


@asynccontextmanager
async def connect(server: LiveServer, user: User, presence: str | None) -> AsyncIterator[Client]:
    url = server.ws_url(server.token(user))
    if presence is not None:
        url += f"&presence={presence}"
    async with trio_websocket.open_websocket_url(url) as ws:
        yield Client(ws, user)


async def _announced(client: Client, user: User) -> None:
    """Until a `user_joined` lists `user` (one tick may list several users)."""
    while True:
        message = await client.receive_type("user_joined")
        if str(user.id) in {u["user_id"] for u in message["data"]["users"]}:
            return


async def test_presence_goes_to_those_who_did_not_opt_out(server: LiveServer) -> None:
    with trio.fail_after(10):
        ann, bo, cy = [await server.create_user() for _ in range(3)]
        async with connect(server, ann, None) as listener, connect(server, bo, "off") as quiet:
            await _announced(listener, bo)
            async with connect(server, cy, "on"):
                await _announced(listener, cy)
                assert not [m for m in await before_pong(quiet) if m["message_type"] in PRESENCE]


async def test_with_ws_presence_off_only_those_who_ask_get_presence(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with custom_server(tmp_path, presence="off") as server:
            ann, bo, cy = [await server.create_user() for _ in range(3)]
            async with connect(server, ann, "on") as asked, connect(server, bo, None) as quiet:
                async with connect(server, cy, None):
                    await server.wait_connections(3)
                    await _announced(asked, cy)
                    assert not [
                        m for m in await before_pong(quiet) if m["message_type"] in PRESENCE
                    ]
                stats = await server.stats()
                assert stats["deliveries_by_type"]["presence"] >= 1


@pytest.mark.parametrize("query", ["presence=yes", "presence=", "presence=on&presence=off"])
async def test_a_bad_presence_parameter_is_refused_400(server: LiveServer, query: str) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        refusal = await expect_refused(f"{server.ws_url(server.token(user))}&{query}")
        assert (refusal.status, refusal.code) == (400, "bad_request")
        assert "presence" in refusal.message


async def _walk(http: httpx.AsyncClient, limit: int) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        reply = await http.get(f"/ws/online{query}", headers=KEY)
        assert reply.status_code == 200, reply.text
        pages.append(reply.json())
        cursor = pages[-1]["next"]
        if cursor is None:
            return pages


async def test_online_pages_list_everyone_once_in_id_order(server: LiveServer) -> None:
    with trio.fail_after(15):
        users = [await server.create_user() for _ in range(5)]
        async with AsyncExitStack() as stack, server.http() as http:
            for user in users:
                await stack.enter_async_context(connect(server, user, "off"))
            await server.wait_connections(5)
            pages = await _walk(http, 2)
            assert [len(p["users"]) for p in pages] == [2, 2, 1]
            assert {p["count"] for p in pages} == {5}
            listed = [u["id"] for p in pages for u in p["users"]]
            assert listed == sorted(str(u.id) for u in users)
            whole = (await http.get("/ws/online", headers=KEY)).json()
            assert ([u["id"] for u in whole["users"]], whole["next"]) == (listed, None)


async def test_a_cursor_stays_valid_when_users_come_and_go(server: LiveServer) -> None:
    with trio.fail_after(15):
        users = sorted([await server.create_user() for _ in range(4)], key=lambda u: u.id)
        async with AsyncExitStack() as stack, server.http() as http:
            for user in users[1:]:
                await stack.enter_async_context(connect(server, user, "off"))
            async with connect(server, users[0], "off"):
                await server.wait_connections(4)
                first = (await http.get("/ws/online?limit=2", headers=KEY)).json()
            await server.wait_connections(3)  # the first listed left
            second = await http.get(f"/ws/online?limit=2&cursor={first['next']}", headers=KEY)
            assert [u["id"] for u in second.json()["users"]] == [str(u.id) for u in users[2:]]
            gone = str(uuid.UUID(int=0))  # a cursor need not be online any more
            assert (await http.get(f"/ws/online?cursor={gone}", headers=KEY)).status_code == 200


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=1001", "limit=ten", "cursor=nope", "cursor=&limit=1"]
)
async def test_bad_paging_parameters_are_400(server: LiveServer, query: str) -> None:
    with trio.fail_after(10):
        async with server.http() as http:
            reply = await http.get(f"/ws/online?{query}", headers=KEY)
            assert reply.status_code == 400, reply.text
            assert reply.json()["error"]["code"] == "bad_request"
