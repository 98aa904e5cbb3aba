"""The SDK against a real server: direct messages, rooms, recovery after a restart, and the
token refreshed on a live connection.

Rules: a real server with a real SQLite file (the restart test: the same file and port, a
second server) or the in-memory store on Trio's `autojump_clock` (the token tests, as in
tests/server/test_token_refresh.py); real SDK clients over real sockets; an outer
`trio.fail_after` in every test.
"""

from __future__ import annotations

import itertools
import math
import socket
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from momentum.sdk import (
    ClientOptions,
    ConnectionState,
    Message,
    RequestFailed,
    RoomJoined,
    RoomMessage,
    Socket,
    StateChanged,
    open_client,
    open_websocket,
)
from tests.server._live import API_KEY, LiveServer, open_live_server, settings_for
from tests.server.test_rooms_ws import http_publish, new_room
from tests.server.test_timing import timed_server

KEY = {"X-API-Key": API_KEY}


async def next_of(events: trio.MemoryReceiveChannel[Any], kind: Any) -> Any:
    async for event in events:
        if isinstance(event, kind):
            return event
    raise AssertionError(f"the events ended before a {kind}")


async def test_direct_messages_history_and_online(server: LiveServer) -> None:
    with trio.fail_after(20):
        alice, bob = await server.create_user("alice"), await server.create_user("bob")
        async with (
            open_client(server.base_url, server.token(alice)) as a,
            open_client(server.base_url, server.token(bob)) as b,
        ):
            await a.wait_connected()
            await b.wait_connected()
            assert a.state is ConnectionState.CONNECTED
            sent = await a.send(str(bob.id), {"content": "hi bob"})
            assert sent.stored and sent.delivered == 1
            got = await next_of(b.events, Message)
            assert (got.id, got.data, got.from_user_id) == (
                sent.message_id,
                {"content": "hi bob"},
                str(alice.id),
            )
            with pytest.raises(RequestFailed) as refused:
                await a.send("not-a-uuid", {"content": "?"})
            assert refused.value.code == "invalid_uuid"
            page = await a.history(str(bob.id))
            assert [m["id"] for m in page["messages"]] == [sent.message_id]
            names = {user["username"] for user in await b.online()}
            assert names == {"alice", "bob"}
            # bob's batched ack (every 0.5 s), written in the store writer's next batch
            while await server.store.pending_messages(bob.id):  # noqa: ASYNC110
                await trio.sleep(0.05)


async def test_rooms_join_publish_and_leave(server: LiveServer) -> None:
    with trio.fail_after(20):
        alice, bob = await server.create_user("alice"), await server.create_user("bob")
        room = await new_room(server, alice)
        async with (
            open_client(server.base_url, server.token(alice)) as a,
            open_client(server.base_url, server.token(bob)) as b,
        ):
            assert (await a.join(room)) == RoomJoined(room, 0, True)
            await b.join(room)
            published = await a.publish(room, {"content": "hello room"})
            assert published.offset == 1
            got = await next_of(b.events, RoomMessage)
            assert (got.room_id, got.offset, got.data) == (room, 1, {"content": "hello room"})
            await b.leave(room)
            with pytest.raises(RequestFailed) as refused:
                await b.publish(room, {"content": "not a member any more"})
            assert refused.value.code == "forbidden"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Gate:
    """A connector to the real server that waits while the gate is shut."""

    def __init__(self) -> None:
        self.open = trio.Event()
        self.open.set()

    def shut(self) -> None:
        self.open = trio.Event()

    @asynccontextmanager
    async def __call__(self, url: str, offers: Sequence[str]) -> AsyncIterator[Socket]:
        await self.open.wait()
        async with open_websocket(url, offers, connect_timeout=2.0) as opened:
            yield opened


async def test_rooms_and_direct_messages_recover_after_a_server_restart(tmp_path: Path) -> None:
    with trio.fail_after(40):
        settings = settings_for(f"sqlite:///{tmp_path}/m.db", bind=f"127.0.0.1:{free_port()}")
        gate = Gate()
        async with open_live_server(settings) as first:
            alice = await first.create_user("alice")
            room = await new_room(first, alice)
            token, url = first.token(alice), first.base_url
            async with first.http() as http:
                await http_publish(http, room, 1)
        async with open_client(url, token, ClientOptions(connector=gate)) as client:
            async with open_live_server(settings) as second:
                await client.join(room)
                async with second.http() as http:
                    await http_publish(http, room, 2)
                    assert (await next_of(client.events, RoomMessage)).offset == 2
                    gate.shut()
            lost = await next_of(client.events, StateChanged)
            while lost.state is not ConnectionState.DISCONNECTED:
                lost = await next_of(client.events, StateChanged)
            assert not lost.final and lost.retry_in is not None
            async with open_live_server(settings) as third:
                async with third.http() as http:
                    assert await http_publish(http, room, 3) == 3
                    assert await http_publish(http, room, 4) == 4
                    reply = await http.post(
                        "/ws/send",
                        headers=KEY,
                        json={"to_user_id": str(alice.id), "data": {"content": "while away"}},
                    )
                    assert reply.json()["stored"] is True
                gate.open.set()
                seen: list[Any] = []
                while len(seen) < 4:
                    event = await next_of(client.events, RoomJoined | RoomMessage | Message)
                    seen.append(event)
                direct = [e for e in seen if isinstance(e, Message)]
                assert [e.data for e in direct] == [{"content": "while away"}]
                rest = [e for e in seen if not isinstance(e, Message)]
                assert [(type(e).__name__, e.offset) for e in rest] == [
                    ("RoomMessage", 3),
                    ("RoomMessage", 4),
                    ("RoomJoined", 4),
                ]
                assert isinstance(rest[-1], RoomJoined) and rest[-1].recovered


async def test_a_live_connection_outlives_its_token_by_refreshing_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(5000):
        async with timed_server(jwt_ttl=600.0) as server:
            user = await server.create_user()
            refreshed: list[float] = []

            async def refresh() -> str:
                refreshed.append(trio.current_time())
                # Tokens carry `exp` in whole wall-clock seconds, and under the mock clock the
                # wall clock hardly moves between refreshes: without this a new token could
                # expire in the same second as the old one, which the SDK answers by waiting
                # RETRY_AFTER (no later expiry). Blocking the loop keeps the mock clock still.
                time.sleep(math.ceil(time.time()) - time.time() + 0.01)  # noqa: ASYNC251
                return server.token(user)

            options = ClientOptions(refresh_token=refresh, refresh_before=60.0)
            async with open_client(server.base_url, server.token(user), options) as client:
                await client.wait_connected()
                started = trio.current_time()
                await trio.sleep(2000)  # past three tokens' expiry
                assert client.state is ConnectionState.CONNECTED
                changes = []
                while True:
                    try:
                        event = client.events.receive_nowait()
                    except trio.WouldBlock:
                        break
                    if isinstance(event, StateChanged):
                        changes.append(event.state)
                assert ConnectionState.DISCONNECTED not in changes
                # 60 s before each exp; exp is in whole seconds and the wall clock moves meanwhile
                gaps = [b - a for a, b in itertools.pairwise([started, *refreshed])]
                assert len(gaps) == 3 and all(538 <= gap <= 540.1 for gap in gaps), gaps


async def test_without_refresh_the_token_expiry_stops_the_client(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(5000):
        async with timed_server(jwt_ttl=600.0) as server:
            user = await server.create_user()
            async with open_client(server.base_url, server.token(user)) as client:
                await client.wait_connected()
                started = trio.current_time()
                final = await next_of(client.events, StateChanged)
                while not final.final:
                    final = await next_of(client.events, StateChanged)
                assert final.close_code == 4001
                assert 598 <= trio.current_time() - started <= 601  # exp in whole seconds
