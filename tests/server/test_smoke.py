"""End to end on a real server: the documented happy path.

Rules: a real server on port 0 with a real SQLite file; real trio-websocket clients and a
real HTTP client; real clock (the store answers from a thread); every test under fail_after.
"""

from __future__ import annotations

import trio

from ._live import API_KEY, LiveServer


async def test_register_login_connect_broadcast_direct(server: LiveServer) -> None:
    with trio.fail_after(20):
        async with server.http() as http:
            for name in ("alice", "bob", "carol"):
                reply = await http.post(
                    "/auth/register",
                    json={"email": f"{name}@x.test", "username": name, "password": "password-1"},
                )
                assert reply.status_code == 201, reply.text
            login = await http.post(
                "/auth/login", json={"username": "alice", "password": "password-1"}
            )
            assert login.status_code == 200
            alice_token = login.json()["token"]
        bob = await server.store.find_user("bob")
        carol = await server.store.find_user("carol")
        assert bob and carol
        async with (
            server.connect(token=alice_token) as a,
            server.connect(bob) as b1,
            server.connect(bob) as b2,
            server.connect(carol) as c,
        ):
            await a.send(message_type="text", data={"content": "hello all"})
            for client in (a, b1, b2, c):
                got = await client.receive_type("text")
                assert got["data"] == {"content": "hello all"}
                assert got["from_user_id"] == login.json()["user"]["id"]
                assert got["to_user_id"] is None
            ack = await a.receive_type("ack")
            assert ack["data"]["delivered"] == 4
            await a.send(message_type="text", data={"content": "psst"}, to_user_id=str(bob.id))
            for client in (b1, b2):
                got = await client.receive_type("text")
                assert got["data"] == {"content": "psst"}
            await c.roundtrip()  # carol got nothing before her pong
            ack = await a.receive_type("ack")
            assert ack["data"]["delivered"] == 2
            stats = await server.stats()
            assert stats["total_connections"] == 4
            assert stats["unique_users"] == 3
            async with server.http() as http:
                online = await http.get("/ws/online", headers={"X-API-Key": API_KEY})
            assert {u["username"]: u["connections"] for u in online.json()["users"]} == {
                "alice": 1,
                "bob": 2,
                "carol": 1,
            }
