"""The WebSocket handshake on a real server: who gets in, and how the others are refused.

Rules: a real server on port 0 with a real SQLite file; real trio-websocket clients (and a
bare wsproto client where the test must see exactly what the server logs); the real clock;
an outer `trio.fail_after` in every test. A refused handshake is answered before the
upgrade with an HTTP status and a JSON body `{"error": {"code", "message"}}`
(docs/protocol.md), and after every refusal the server still serves a good client.
"""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import trio
import trio_websocket

from ._live import (
    SECRET,
    LiveServer,
    assert_serves,
    custom_server,
    expect_refused,
    mint_token,
)
from ._raw import open_raw


def url_without_token(server: LiveServer) -> str:
    return server.ws_url(None)


# -- tokens -----------------------------------------------------------------------------------


async def test_no_token_is_401_token_missing(server: LiveServer) -> None:
    with trio.fail_after(10):
        refusal = await expect_refused(server.ws_url(None))
        assert (refusal.status, refusal.code) == (401, "token_missing")
        assert refusal.content_type == "application/json"
        assert refusal.message
        refusal = await expect_refused(server.ws_url(""))
        assert (refusal.status, refusal.code) == (401, "token_missing")
        await assert_serves(server)


async def test_bad_signature_is_401_token_invalid(server: LiveServer) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        forged = mint_token(user.id, key="another-secret-0123456789abcdef-0123456789")
        refusal = await expect_refused(server.ws_url(forged))
        assert (refusal.status, refusal.code) == (401, "token_invalid")
        good = server.token(user)
        tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
        refusal = await expect_refused(server.ws_url(tampered))
        assert (refusal.status, refusal.code) == (401, "token_invalid")
        refusal = await expect_refused(server.ws_url("not-a-jwt"))
        assert (refusal.status, refusal.code) == (401, "token_invalid")
        await assert_serves(server)


async def test_expired_token_is_401_token_expired(server: LiveServer) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        now = int(time.time())
        # Expired well beyond the default 30 s leeway.
        expired = mint_token(user.id, iat=now - 7200, exp=now - 3600)
        refusal = await expect_refused(server.ws_url(expired))
        assert (refusal.status, refusal.code) == (401, "token_expired")
        await assert_serves(server)


async def test_token_past_exp_within_the_leeway_is_let_in_then_closed_4001(
    server: LiveServer,
) -> None:
    """The leeway absorbs clock skew at the check; the connection itself ends at `exp`."""
    with trio.fail_after(10):
        user = await server.create_user()
        now = int(time.time())
        barely = mint_token(user.id, iat=now - 3600, exp=now - 5)
        async with server.connect(token=barely) as client:  # not refused 401
            assert await client.wait_closed() == 4001
        await assert_serves(server)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize(
    ("kind", "algorithm", "key", "claims"),
    [
        ("alg none", "none", None, {}),
        ("HS384", "HS384", SECRET, {}),
        ("HS512", "HS512", SECRET, {}),
        ("no exp", "HS256", SECRET, {"exp": None}),
        ("no iat", "HS256", SECRET, {"iat": None}),
        ("no sub", "HS256", SECRET, {"sub": None}),
        ("sub not a uuid", "HS256", SECRET, {"sub": "alice"}),
        ("issued in the future", "HS256", SECRET, {"iat": int(time.time()) + 3600}),
    ],
)
async def test_tokens_the_server_must_not_trust_are_401(
    server: LiveServer, kind: str, algorithm: str, key: str | None, claims: dict[str, Any]
) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        token = mint_token(user.id, algorithm=algorithm, key=key, **claims)
        refusal = await expect_refused(server.ws_url(token))
        assert (refusal.status, refusal.code) == (401, "token_invalid"), kind
        await assert_serves(server)


async def test_unknown_user_is_401_user_unknown(server: LiveServer) -> None:
    with trio.fail_after(10):
        refusal = await expect_refused(server.ws_url(mint_token(uuid.uuid4())))
        assert (refusal.status, refusal.code) == (401, "user_unknown")
        await assert_serves(server)


async def test_disabled_user_is_403_user_disabled(server: LiveServer) -> None:
    with trio.fail_after(10):
        user = await server.create_user(active=False)
        refusal = await expect_refused(server.ws_url(server.token(user)))
        assert (refusal.status, refusal.code) == (403, "user_disabled")
        await assert_serves(server)


# -- limits -----------------------------------------------------------------------------------


async def test_per_user_limit_is_429_and_frees_up_on_close(tmp_path: Path) -> None:
    with trio.fail_after(15):
        async with custom_server(tmp_path, max_connections_per_user=2) as server:
            user = await server.create_user()
            async with server.connect(user) as first:
                async with server.connect(user) as second:
                    await second.roundtrip()
                    refusal = await expect_refused(server.ws_url(server.token(user)))
                    assert (refusal.status, refusal.code) == (429, "too_many_connections")
                    await assert_serves(server)  # other users are not limited by this one
                await server.wait_connections(1)
                async with server.connect(user) as again:
                    await again.roundtrip()
                await first.roundtrip()
            await server.wait_connections(0)


async def test_server_full_is_503(tmp_path: Path) -> None:
    with trio.fail_after(15):
        async with custom_server(tmp_path, max_connections=2) as server:
            alice, bob, carol = [await server.create_user() for _ in range(3)]
            async with server.connect(alice) as a, server.connect(bob) as b:
                await a.roundtrip()
                await b.roundtrip()
                refusal = await expect_refused(server.ws_url(server.token(carol)))
                assert (refusal.status, refusal.code) == (503, "server_full")
            await server.wait_connections(0)
            await assert_serves(server)


async def test_refusals_leave_no_reserved_slot_behind(tmp_path: Path) -> None:
    """Refused and closed handshakes give their slot back: the limit is not eaten away."""
    with trio.fail_after(15):
        async with custom_server(tmp_path, max_connections=2, max_connections_per_user=1) as server:
            user = await server.create_user()
            for _ in range(5):
                async with server.connect(user) as client:
                    await client.roundtrip()
                    refusal = await expect_refused(server.ws_url(server.token(user)))
                    assert refusal.status == 429
                await server.wait_connections(0)
            others = [await server.create_user() for _ in range(2)]
            async with server.connect(others[0]) as a, server.connect(others[1]) as b:
                await a.roundtrip()
                await b.roundtrip()


# -- Origin -----------------------------------------------------------------------------------


async def test_forbidden_origin_is_403(server: LiveServer) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        for origin in (b"http://evil.example", b"http://127.0.0.1:1", b"null"):
            refusal = await expect_refused(
                server.ws_url(server.token(user)), extra_headers=[(b"Origin", origin)]
            )
            assert (refusal.status, refusal.code) == (403, "forbidden_origin"), origin
        await assert_serves(server)


async def test_same_host_origin_passes(server: LiveServer) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        same_host = f"http://127.0.0.1:{server.port}".encode()
        async with server.connect(user, extra_headers=[(b"Origin", same_host)]) as client:
            await client.roundtrip()


async def test_no_origin_passes(server: LiveServer) -> None:
    """Non-browser clients send no Origin; the default policy lets them in."""
    with trio.fail_after(10):
        user = await server.create_user()
        async with server.connect(user) as client:
            await client.roundtrip()


async def test_allowed_origins_setting_replaces_the_same_host_rule(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with custom_server(
            tmp_path, allowed_origins=frozenset({"https://app.example"})
        ) as server:
            user = await server.create_user()
            url = server.ws_url(server.token(user))
            for allowed in (b"https://app.example", b"https://app.example/"):
                async with server.connect(user, extra_headers=[(b"Origin", allowed)]) as client:
                    await client.roundtrip()
            for refused in (
                f"http://127.0.0.1:{server.port}".encode(),
                b"https://evil.example",
                b"http://app.example",
            ):
                refusal = await expect_refused(url, extra_headers=[(b"Origin", refused)])
                assert (refusal.status, refusal.code) == (403, "forbidden_origin"), refused
            async with server.connect(user) as client:  # no Origin: not a browser
                await client.roundtrip()


async def test_wildcard_allowed_origins_admits_any_origin(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with custom_server(tmp_path, allowed_origins=frozenset({"*"})) as server:
            user = await server.create_user()
            async with server.connect(user, extra_headers=[(b"Origin", b"https://x.example")]) as c:
                await c.roundtrip()


# -- where the token comes from ----------------------------------------------------------------


async def test_token_in_authorization_header(server: LiveServer) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        header = [(b"Authorization", f"Bearer {server.token(user)}".encode())]
        async with trio_websocket.open_websocket_url(
            url_without_token(server), extra_headers=header
        ) as ws:
            await ws.send_message(f'{{"message_type": "ping", "id": "{uuid.uuid4()}"}}')
            reply = await ws.get_message()
            while '"pong"' not in reply:
                reply = await ws.get_message()
        refusal = await expect_refused(
            url_without_token(server), extra_headers=[(b"Authorization", b"Bearer nope")]
        )
        assert (refusal.status, refusal.code) == (401, "token_invalid")


async def test_token_in_subprotocol_is_never_sent_back(server: LiveServer) -> None:
    """The server selects `momentum` (what a browser offering `momentum` and `bearer.<token>`
    requires: one of its own offers), and never the `bearer.<token>` offer, which used to
    send the token back in the response head."""
    with trio.fail_after(10):
        user = await server.create_user()
        token = server.token(user)
        bearer = f"bearer.{token}"
        async with trio_websocket.open_websocket_url(
            url_without_token(server), subprotocols=["momentum", bearer]
        ) as ws:
            assert ws.subprotocol == "momentum"
            await ws.send_message('{"message_type": "ping"}')
            assert "pong" in await ws.get_message()
        async with trio_websocket.open_websocket_url(
            url_without_token(server), subprotocols=[bearer]
        ) as ws:
            assert ws.subprotocol is None  # connected, nothing selected
        for offer in (f"momentum, {bearer}", bearer):
            raw = await open_raw(server.port)
            async with raw.stream:
                head = await raw.handshake(
                    server.port, "", extra=f"Sec-WebSocket-Protocol: {offer}\r\n"
                )
            assert head.startswith(b"HTTP/1.1 101"), head
            assert token.encode() not in head
            lines = head.split(b"\r\n")
            selected = [line for line in lines if line.lower().startswith(b"sec-websocket-prot")]
            assert selected == ([b"Sec-WebSocket-Protocol: momentum"] if "," in offer else [])
        refusal = await expect_refused(
            url_without_token(server), subprotocols=["momentum", "bearer.nope"]
        )
        assert (refusal.status, refusal.code) == (401, "token_invalid")
        await assert_serves(server)


async def test_tokens_never_appear_in_the_logs(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The bare client logs nothing itself, so every record seen here is the server's."""
    with trio.fail_after(10):
        user = await server.create_user()
        good = server.token(user)
        unknown = mint_token(uuid.uuid4())
        expired = mint_token(user.id, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
        caplog.set_level(logging.DEBUG)
        raw = await open_raw(server.port)
        async with raw.stream:
            assert (await raw.handshake(server.port, good)).startswith(b"HTTP/1.1 101")
            await raw.send_frame(0x1, b'{"message_type": "ping"}')
            frame = await raw.read_frame()
            assert frame is not None
        for token in (unknown, expired):
            raw = await open_raw(server.port)
            async with raw.stream:
                assert (await raw.handshake(server.port, token)).startswith(b"HTTP/1.1 401")
        await server.wait_connections(0)
        assert caplog.records, "expected the server to log something at DEBUG"
        for record in caplog.records:
            message = record.getMessage()
            for token in (good, unknown, expired):
                assert token not in message, f"{record.name}: {message}"
                signature = token.rsplit(".", 1)[1]
                assert signature not in message, f"{record.name}: {message}"


async def test_refusals_are_counted_by_reason_in_metrics(server: LiveServer) -> None:
    with trio.fail_after(10):
        await expect_refused(server.ws_url(None))
        await expect_refused(server.ws_url(None))
        await expect_refused(server.ws_url(mint_token(uuid.uuid4())))
        async with server.http() as http:
            lines = (await http.get("/metrics")).text.splitlines()
        assert 'momentum_handshake_failures_total{reason="token_missing"} 2.0' in lines
        assert 'momentum_handshake_failures_total{reason="user_unknown"} 1.0' in lines
