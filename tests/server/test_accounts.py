"""Registering accounts over HTTP follows the same rules as `momentum users create`.

Rules: a real server on port 0 with a real SQLite file, a real HTTP client (httpx), real
clock, an outer `trio.fail_after` in every test.
"""

from __future__ import annotations

import trio

from tests.server._live import API_KEY, LiveServer


async def test_register_refuses_what_the_cli_refuses(server: LiveServer) -> None:
    attacks = [
        ({"email": "p\u0430ypal@example.com"}, "look-alike"),
        ({"email": "a@ex\u200bample.com"}, "invisible"),
        ({"email": "eve@example.com\x1b]0;pwned\x07"}, "control"),
        ({"username": "eve admin"}, "username: 3-32"),
        ({"password": "12345678"}, "most common"),
        ({"password": "eve-mallory"}, "must not be the username"),
        ({"password": "short"}, "8 to 256"),
    ]
    with trio.fail_after(20):
        async with server.http() as http:
            for change, says in attacks:
                body = {"email": "eve@example.com", "username": "eve-mallory"}
                body |= {"password": "a-long-passphrase"} | change
                reply = await http.post("/auth/register", json=body)
                assert reply.status_code == 400, (change, reply.text)
                error = reply.json()["error"]
                assert error["code"] == "bad_request" and says in error["message"], error
            assert await server.store.count_users() == 0


async def test_register_stores_the_normalised_email(server: LiveServer) -> None:
    with trio.fail_after(20):
        async with server.http() as http:
            body = {"email": " Ren\u0065\u0301e@Example.ORG ", "username": " renee "}
            reply = await http.post("/auth/register", json=body | {"password": "s3cret-enough"})
            assert reply.status_code == 201, reply.text
            assert reply.json()["user"]["email"] == "ren\u00e9e@example.org"
            assert reply.json()["user"]["username"] == "renee"
            for email in ("REN\u00c9E@example.org", "Rene\u0301e@example.org"):
                login = {"email": email, "password": "s3cret-enough"}
                assert (await http.post("/auth/login", json=login)).status_code == 200, email


async def test_auth_me_names_the_tokens_user(server: LiveServer) -> None:
    with trio.fail_after(20):
        user = await server.create_user("meself")
        async with server.http() as http:
            reply = await http.get(
                "/auth/me", headers={"Authorization": f"Bearer {server.token(user)}"}
            )
            assert reply.status_code == 200, reply.text
            assert reply.json()["user"]["id"] == str(user.id)
            assert reply.json()["user"]["username"] == "meself"
            assert (await http.get("/auth/me")).status_code == 401
            by_key = await http.get("/auth/me", headers={"X-API-Key": API_KEY})
            assert by_key.status_code == 403


async def test_a_username_is_looked_up_by_users_and_admins(server: LiveServer) -> None:
    with trio.fail_after(20):
        bob = await server.create_user("Bob.B")
        alice = await server.create_user("alice")
        as_alice = {"Authorization": f"Bearer {server.token(alice)}"}
        async with server.http() as http:
            assert (await http.get("/users/by-name/bob.b")).status_code == 401
            found = await http.get("/users/by-name/bob.b", headers=as_alice)
            assert found.status_code == 200, found.text
            assert found.json() == {"user": {"id": str(bob.id), "username": "Bob.B"}}
            full = await http.get("/users/by-name/Bob.B", headers={"X-API-Key": API_KEY})
            assert full.json()["user"]["email"] == bob.email
            for missing in ("nobody", bob.email):
                reply = await http.get(f"/users/by-name/{missing}", headers=as_alice)
                assert reply.status_code == 404 and reply.json()["error"]["code"] == "not_found"
