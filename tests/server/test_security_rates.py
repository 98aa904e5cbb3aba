"""One user, many connections and HTTP requests: the user's own rate limit.

The attacks reproduced: a user opens ten connections and broadcasts on each at the
per-connection rate — ten times the fan-out a user should get; a user posts to
`POST /ws/send` with its token as fast as it can — no limit applied at all. Now every
message a user publishes, through any connection or HTTP, takes a token from one bucket per
user (`USER_RATE_LIMIT`, `USER_RATE_BURST`): beyond it, WebSocket senders get `rate_limited`
and HTTP 429 with `Retry-After`. The application backend (API key) is not limited.

Rules: a real server on port 0 with a real SQLite file, real clients, the real clock; every
test under `trio.fail_after`. The user's rate is tiny (one message per 100 s), so that its
burst is all a test can send however slow the machine.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import trio

from ._live import API_KEY, custom_server

SLOW = {"user_rate_limit": 0.01, "user_rate_burst": 3, "rate_limit": 1000.0, "rate_burst": 1000}


async def test_a_user_broadcasting_on_many_connections_gets_one_users_rate(
    tmp_path: Path,
) -> None:
    with trio.fail_after(30):
        async with custom_server(tmp_path, **SLOW) as server, AsyncExitStack() as stack:
            alice, bob = await server.create_user(), await server.create_user()
            connections = [await stack.enter_async_context(server.connect(alice)) for _ in range(4)]
            listener = await stack.enter_async_context(server.connect(bob))
            acks, refused = 0, 0
            for client in connections:
                for n in range(2):
                    await client.send(message_type="text", data={"content": f"all {n}"})
                    reply = await client.receive_type("ack", "error")
                    if reply["message_type"] == "ack":
                        acks += 1
                    else:
                        assert reply["data"]["code"] == "rate_limited"
                        assert (await client.receive_type("ack"))["data"]["stored"] is False
                        refused += 1
            assert (acks, refused) == (3, 5)
            got = [await listener.receive_type("text") for _ in range(3)]
            assert len(got) == 3
            await listener.roundtrip()  # and nothing more came before the pong
            stats = await server.stats()
            assert stats["total_connections"] == 5  # nobody was closed for it


async def test_a_users_http_sends_share_its_rate_and_get_429_with_retry_after(
    tmp_path: Path,
) -> None:
    with trio.fail_after(30):
        async with custom_server(tmp_path, **SLOW) as server:
            alice, bob = await server.create_user(), await server.create_user()
            body = {"to_user_id": str(bob.id), "data": {"content": "hi"}}
            user = {"Authorization": f"Bearer {server.token(alice)}"}
            async with server.connect(alice) as a:
                await a.send(message_type="text", to_user_id=str(bob.id), data={})
                assert (await a.receive_type("ack"))["data"]["stored"] is True
            async with server.http() as http:
                statuses = [
                    (await http.post("/ws/send", headers=user, json=body)) for _ in range(3)
                ]
                assert [r.status_code for r in statuses] == [200, 200, 429]
                refused = statuses[-1]
                assert refused.json()["error"]["code"] == "rate_limited"
                assert 1 <= int(refused.headers["Retry-After"]) <= 100
                backend = await http.post("/ws/send", headers={"X-API-Key": API_KEY}, json=body)
                assert backend.status_code == 200, backend.text
            assert await server.store.count_pending(bob.id) == 4
