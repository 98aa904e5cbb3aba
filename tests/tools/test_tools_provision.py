"""`POST /users/provision`: admin-only bulk test users with tokens (for `momentum stress`).

Rules: a real server on port 0 with a real SQLite file; a real HTTP client (httpx) and real
WebSocket clients; real clock; an outer `trio.fail_after` in every test.
"""

from __future__ import annotations

import trio

from tests.server._live import API_KEY, LiveServer

KEY = {"X-API-Key": API_KEY}


async def test_only_admins_may_provision(server: LiveServer) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        admin = await server.create_user(admin=True)
        async with server.http() as http:
            body = {"count": 2}
            anonymous = await http.post("/users/provision", json=body)
            assert anonymous.status_code == 401
            mortal = {"Authorization": f"Bearer {server.token(user)}"}
            refused = await http.post("/users/provision", json=body, headers=mortal)
            assert refused.status_code == 403
            assert refused.json()["error"]["code"] == "forbidden"
            wrong_key = await http.post("/users/provision", json=body, headers={"X-API-Key": "x"})
            assert wrong_key.status_code == 401
            by_admin = {"Authorization": f"Bearer {server.token(admin)}"}
            assert (
                await http.post("/users/provision", json=body, headers=by_admin)
            ).status_code == 201


async def test_provisioned_tokens_connect_but_passwords_do_not(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.http() as http:
            reply = await http.post(
                "/users/provision", json={"count": 3, "prefix": "load"}, headers=KEY
            )
            assert reply.status_code == 201
            users = reply.json()["users"]
            assert reply.json()["count"] == 3
            assert len({u["id"] for u in users}) == 3
            assert all(u["username"].startswith("load-") for u in users)
            login = await http.post(
                "/auth/login", json={"username": users[0]["username"], "password": "!provisioned"}
            )
            assert login.status_code == 401
        async with server.connect(token=users[0]["token"]) as client:
            await client.roundtrip()


async def test_provision_validates_its_body(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.http() as http:
            for body in (
                {},
                {"count": 0},
                {"count": 10_001},
                {"count": True},
                {"count": "3"},
                {"count": 1, "prefix": "no spaces"},
                {"count": 1, "prefix": "x" * 13},
            ):
                reply = await http.post("/users/provision", json=body, headers=KEY)
                assert reply.status_code == 400, body
                assert reply.json()["error"]["code"] == "bad_request"
