"""The SDK against a real server: direct messages, rooms, recovery after a restart.

Rules: a real server on port 0 with a real SQLite file, real SDK clients over real sockets;
real clock, an outer `trio.fail_after` in every test.
"""

from __future__ import annotations

import trio

from momentum.sdk import ConnectionState, Message, open_client
from tests.server._live import LiveServer


async def next_of(events: trio.MemoryReceiveChannel[object], kind: type) -> object:
    async for event in events:
        if isinstance(event, kind):
            return event
    raise AssertionError(f"the events ended before a {kind.__name__}")


async def test_direct_message_is_stored_delivered_and_acknowledged(server: LiveServer) -> None:
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
            assert sent.stored
            got = await next_of(b.events, Message)
            assert isinstance(got, Message)
            assert (got.id, got.data, got.from_user_id) == (
                sent.message_id,
                {"content": "hi bob"},
                str(alice.id),
            )
