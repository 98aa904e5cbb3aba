"""Registering accounts over HTTP follows the same rules as `momentum users create`.

Rules: a real server on port 0 with a real SQLite file, a real HTTP client (httpx), real
clock, an outer `trio.fail_after` in every test.
"""

from __future__ import annotations

import trio

from tests.server._live import LiveServer


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
            login = {"email": "REN\u00c9E@example.org", "password": "s3cret-enough"}
            assert (await http.post("/auth/login", json=login)).status_code == 200
