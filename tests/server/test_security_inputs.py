"""Hostile inputs that once cost more than an error: each gets a clear 4xx or an `error`
envelope now, and the connection (and the server) carries on.

The attacks reproduced: `data` nested deeper than the JSON encoder goes (the connection died
with 1011, HTTP answered 500); a NUL byte in a login or an email (PostgreSQL answered 503 and
raised the storage-error metric; SQLite stored it); a token whose `exp` is 10**400 (500, and
the connection actor crashed); history cursors beyond 64 bits or at the edge of the date
range (500).

Rules: a real server on port 0 with a real SQLite file (the PostgreSQL variants are in
test_postgres.py), real clients, the real clock; every test under `trio.fail_after`.
"""

from __future__ import annotations

import orjson
import trio

from momentum.protocol import MAX_NESTING

from ._live import API_KEY, LiveServer, expect_refused, mint_token


def nested(depth: int) -> str:
    """JSON text of objects nested `depth` deep (written by hand: encoders stop at ~254)."""
    return '{"x":' * (depth - 1) + "{}" + "}" * (depth - 1)


def direct(to: object, depth: int) -> str:
    return f'{{"message_type":"text","to_user_id":"{to}","data":{nested(depth)}}}'


async def test_data_nested_too_deep_is_an_error_and_the_connection_stays(
    server: LiveServer,
) -> None:
    with trio.fail_after(20):
        alice, bob = await server.create_user(), await server.create_user()
        async with server.connect(alice) as a:
            for depth in (MAX_NESTING + 1, 255, 1000):
                await a.ws.send_message(direct(bob.id, depth))
                error = await a.receive_type("error")
                assert error["data"]["code"] == "invalid_envelope"
            await a.ws.send_message(direct(bob.id, MAX_NESTING))
            assert (await a.receive_type("ack"))["data"]["stored"] is True
            await a.roundtrip()
        async with server.http() as http:
            body = f'{{"to_user_id":"{bob.id}","data":{nested(500)}}}'
            headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
            reply = await http.post("/ws/send", headers=headers, content=body)
        assert reply.status_code == 400
        assert reply.json()["error"]["code"] == "invalid_envelope"


async def test_control_characters_in_a_login_or_an_email_are_refused_400(
    server: LiveServer,
) -> None:
    with trio.fail_after(20):
        async with server.http() as http:
            login = await http.post(
                "/auth/login", json={"username": "al\x00ice", "password": "whatever-123"}
            )
            register = await http.post(
                "/auth/register",
                json={"email": "a\x00b@example.com", "username": "nul_user", "password": "x" * 12},
            )
            escape = await http.post(
                "/auth/register",
                json={"email": "a@ex\x1b[2J.com", "username": "esc_user", "password": "x" * 12},
            )
        assert login.status_code == 400, login.text
        assert register.status_code == 400, register.text
        assert escape.status_code == 400, escape.text


async def test_a_token_with_an_absurd_exp_is_refused_401(server: LiveServer) -> None:
    with trio.fail_after(20):
        user = await server.create_user()
        for exp in (10**400, 10**20, -1):
            token = mint_token(user.id, exp=exp)
            refusal = await expect_refused(server.ws_url(token))
            assert (refusal.status, refusal.code) == (401, "token_invalid"), exp
            async with server.http() as http:
                reply = await http.get("/ws/online", headers={"Authorization": f"Bearer {token}"})
            assert reply.status_code == 401, reply.text
        async with server.connect(user) as client:  # the server is fine
            await client.roundtrip()


async def test_history_cursors_out_of_range_are_400(server: LiveServer) -> None:
    with trio.fail_after(20):
        alice, bob = await server.create_user(), await server.create_user()
        headers = {"Authorization": f"Bearer {server.token(alice)}"}
        cases = [
            {"before": "2026-01-01T00:00:00Z", "before_seq": str(2**64)},
            {"before": "2026-01-01T00:00:00Z", "before_seq": "-1"},
            {"before": "9999-12-31T23:59:59-14:00"},
            {"before": "0001-01-01T00:00:00+14:00"},
        ]
        async with server.http() as http:
            for params in cases:
                reply = await http.get(
                    "/ws/history", headers=headers, params={"with": str(bob.id), **params}
                )
                assert reply.status_code == 400, (params, reply.text)
                assert orjson.loads(reply.content)["error"]["code"] == "bad_request"


async def test_integers_beyond_64_bits_are_refused_not_rounded(server: LiveServer) -> None:
    with trio.fail_after(20):
        alice, bob = await server.create_user(), await server.create_user()
        big = "123456789012345678901234567890"
        async with server.connect(alice) as a, server.connect(bob) as b:
            for literal in (big, str(2**64), str(-(2**63) - 1)):
                frame = (
                    f'{{"message_type":"text","to_user_id":"{bob.id}","data":{{"n":{literal}}}}}'
                )
                await a.ws.send_message(frame)
                error = await a.receive_type("error")
                assert error["data"]["code"] == "invalid_envelope", literal
            edges = f'{{"message_type":"text","to_user_id":"{bob.id}","data":{{"hi":{2**64 - 1},'
            edges += f'"lo":{-(2**63)},"s":"{big}","f":1e30}}}}'
            await a.ws.send_message(edges)
            assert (await a.receive_type("ack"))["data"]["stored"] is True
            got = await b.receive_type("text")
            assert got["data"] == {"hi": 2**64 - 1, "lo": -(2**63), "s": big, "f": 1e30}
        async with server.http() as http:
            body = f'{{"to_user_id":"{bob.id}","data":{{"n":{big}}}}}'
            headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
            reply = await http.post("/ws/send", headers=headers, content=body)
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"]["code"] == "invalid_envelope"
