"""In-band token refresh (`auth`) against a real server: a new token extends a live
connection past its old `exp`; every refusal leaves the old expiry in place.

Times are on Trio's autojump clock with the in-memory store (as in test_timing.py); tokens are
dated by the wall clock, which barely moves meanwhile, so a token minted at any Trio time
lives `JWT_TTL` from then on.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import trio
import trio.testing

from ._live import Client, LiveServer, mint_token
from .test_security_sessions import bearer, log_in, sign_up_and_log_in
from .test_timing import MARGIN, timed_server


async def refresh(client: Client, token: Any) -> dict[str, Any]:
    """Send `auth` with `token`; the answer to it (an `ack` or an `error`)."""
    ref = str(uuid.uuid4())
    await client.send(id=ref, message_type="auth", data={"token": token})
    answer = await client.receive_type("ack", "error")
    assert answer["data"]["ref_id"] == ref
    return answer


async def refused(client: Client, token: Any) -> str:
    answer = await refresh(client, token)
    assert answer["message_type"] == "error", answer
    code: str = answer["data"]["code"]
    return code


async def test_a_refreshed_token_extends_the_connection_past_the_old_exp(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(400):
        async with timed_server(jwt_ttl=100.0, jwt_leeway=0.0, ping_interval=0.0) as server:
            user = await server.create_user()
            async with server.connect(user) as client:
                opened = trio.current_time()
                await trio.sleep(60)
                answer = await refresh(client, server.token(user))
                assert answer["message_type"] == "ack"
                assert answer["data"]["expires_at"].endswith("Z")
                await trio.sleep(60)  # past the first token's exp
                await client.roundtrip()
                assert await client.wait_closed(timeout=200) == 4001
                assert 158.0 <= trio.current_time() - opened <= 160.0 + MARGIN


async def test_a_refused_refresh_keeps_the_old_expiry(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(300):
        async with timed_server(jwt_ttl=100.0, jwt_leeway=0.0, ping_interval=25.0) as server:
            user, other = await server.create_user(), await server.create_user()
            async with server.connect(user) as client:
                opened = trio.current_time()
                await trio.sleep(50)
                assert await refused(client, server.token(other)) == "forbidden"
                assert await client.wait_closed(timeout=200) == 4001
                assert 98.0 <= trio.current_time() - opened <= 100.0 + MARGIN


async def test_every_bad_token_is_refused_and_the_connection_stays(server: LiveServer) -> None:
    with trio.fail_after(20):
        user = await server.create_user()
        other = await server.create_user()
        disabled = await server.create_user(active=False)
        async with server.connect(user) as client:
            assert await refused(client, "not-a-jwt") == "token_invalid"
            assert await refused(client, mint_token(user.id, key="x" * 40)) == "token_invalid"
            expired = mint_token(user.id, iat=1_000_000, exp=1_000_100)
            assert await refused(client, expired) == "token_expired"
            assert await refused(client, server.token(other)) == "forbidden"
            assert await refused(client, server.token(disabled)) == "user_disabled"
            assert await refused(client, mint_token(uuid.uuid4())) == "user_unknown"
            for bad in (None, 42, "", "x" * 5000):
                assert await refused(client, bad) == "invalid_envelope"
            await client.roundtrip()
            assert client.ws.closed is None


async def test_a_revoked_token_is_refused(server: LiveServer) -> None:
    with trio.fail_after(20):
        async with server.http() as http:
            session = await sign_up_and_log_in(http)
            other_device = await log_in(http, session["user"]["username"])
            reply = await http.post("/auth/logout", headers=bearer(other_device["token"]))
            assert reply.status_code in (200, 204), reply.text
            async with server.connect(token=session["token"]) as client:
                assert await refused(client, other_device["token"]) == "token_revoked"
                await client.roundtrip()


async def test_the_connection_takes_the_new_tokens_identity(server: LiveServer) -> None:
    """Logging out the session of the token handed over closes the connection (4001)."""
    with trio.fail_after(20):
        async with server.http() as http:
            session = await sign_up_and_log_in(http)
            other_device = await log_in(http, session["user"]["username"])
            async with server.connect(token=session["token"]) as client:
                answer = await refresh(client, other_device["token"])
                assert answer["message_type"] == "ack"
                expected = server.running.services.codec.verify(other_device["token"]).exp
                stamp = answer["data"]["expires_at"]
                assert datetime.fromisoformat(stamp).timestamp() == expected
                await http.post("/auth/logout", headers=bearer(other_device["token"]))
                assert await client.wait_closed() == 4001
