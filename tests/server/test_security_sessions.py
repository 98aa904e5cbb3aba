"""The auth lifecycle against a real server: refresh-token rotation, logout, password change,
and what a revoked token gets at each door.

Rules: a real server on port 0 with a real SQLite file, real HTTP (httpx) and WebSocket
(trio-websocket) clients, the real clock, an outer `trio.fail_after` in every test. Every
revocation is checked at all three places a token is used: an HTTP request (401
`token_revoked`), a WebSocket handshake (401 `token_revoked`) and an open connection
(closed with 4001). The one race (a token revoked while a handshake that already checked it
is under way) uses the in-memory store with its user lookups held at a gate, so the order
of events is exact.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import trio

from momentum.storage import User
from tests._memory_store import MemoryStore

from ._live import API_KEY, LiveServer, expect_refused, open_live_server, settings_for

PASSWORD = "correct horse battery"
NEW_PASSWORD = "battery staple horse"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_up_and_log_in(http: httpx.AsyncClient, name: str | None = None) -> dict[str, Any]:
    name = name or f"u{uuid.uuid4().hex[:10]}"
    reply = await http.post(
        "/auth/register",
        json={"email": f"{name}@example.test", "username": name, "password": PASSWORD},
    )
    assert reply.status_code == 201, reply.text
    return await log_in(http, name)


async def log_in(http: httpx.AsyncClient, name: str, password: str = PASSWORD) -> dict[str, Any]:
    reply = await http.post("/auth/login", json={"login": name, "password": password})
    assert reply.status_code == 200, reply.text
    session: dict[str, Any] = reply.json()
    return session


async def assert_revoked(server: LiveServer, http: httpx.AsyncClient, token: str) -> None:
    reply = await http.get("/ws/online", headers=bearer(token))
    assert reply.status_code == 401, reply.text
    assert reply.json()["error"]["code"] == "token_revoked"
    refusal = await expect_refused(server.ws_url(token))
    assert (refusal.status, refusal.code) == (401, "token_revoked")


async def assert_valid(http: httpx.AsyncClient, token: str) -> None:
    reply = await http.get("/ws/online", headers=bearer(token))
    assert reply.status_code == 200, reply.text


async def test_login_opens_a_session_and_refresh_rotates_it(server: LiveServer) -> None:
    with trio.fail_after(20):
        async with server.http() as http:
            session = await sign_up_and_log_in(http)
            assert set(session) == {
                "token",
                "expires_at",
                "refresh_token",
                "refresh_expires_at",
                "user",
            }
            first = session["refresh_token"]
            reply = await http.post("/auth/refresh", json={"refresh_token": first})
            assert reply.status_code == 200, reply.text
            renewed = reply.json()
            assert renewed["refresh_token"] != first
            assert renewed["user"] == session["user"]
            await assert_valid(http, renewed["token"])
            claims = server.running.services.codec.verify(renewed["token"])
            assert claims.session == server.running.services.codec.verify(session["token"]).session


async def test_a_replayed_refresh_token_ends_its_session(server: LiveServer) -> None:
    """A thief replays a refresh token its owner already spent (or the other way round):
    the replay is refused and ends the session: its newest refresh token and every access
    token it issued, with their connections."""
    with trio.fail_after(20):
        async with server.http() as http:
            session = await sign_up_and_log_in(http)
            other = await log_in(http, session["user"]["username"])  # another device
            stolen = session["refresh_token"]
            reply = await http.post("/auth/refresh", json={"refresh_token": stolen})
            newest = reply.json()
            async with (
                server.connect(token=newest["token"]) as doomed,
                server.connect(token=other["token"]) as kept,
            ):
                await doomed.roundtrip()
                replay = await http.post("/auth/refresh", json={"refresh_token": stolen})
                assert replay.status_code == 401
                assert replay.json()["error"]["code"] == "token_revoked"
                assert await doomed.wait_closed() == 4001
                await kept.roundtrip()
            after = await http.post(
                "/auth/refresh", json={"refresh_token": newest["refresh_token"]}
            )
            assert after.status_code == 401
            assert after.json()["error"]["code"] == "token_invalid"
            for token in (session["token"], newest["token"]):
                await assert_revoked(server, http, token)
            # the other device's session is not touched
            await assert_valid(http, other["token"])
            reply = await http.post("/auth/refresh", json={"refresh_token": other["refresh_token"]})
            assert reply.status_code == 200, reply.text
            for bad in ("", "x" * 43):
                reply = await http.post("/auth/refresh", json={"refresh_token": bad})
                assert reply.status_code == 401


async def test_logout_ends_the_session_everywhere_its_tokens_are_used(
    server: LiveServer,
) -> None:
    with trio.fail_after(20):
        async with server.http() as http:
            session = await sign_up_and_log_in(http)
            other = await log_in(http, session["user"]["username"])
            token = session["token"]
            reply = await http.post(
                "/auth/refresh", json={"refresh_token": session["refresh_token"]}
            )
            sibling = reply.json()  # the same session, renewed
            async with (
                server.connect(token=token) as doomed,
                server.connect(token=sibling["token"]) as doomed_too,
                server.connect(token=other["token"]) as kept,
            ):
                await doomed.roundtrip()
                await doomed_too.roundtrip()
                reply = await http.post("/auth/logout", headers=bearer(token))
                assert reply.status_code == 204, reply.text
                assert await doomed.wait_closed() == 4001
                assert await doomed_too.wait_closed() == 4001
                await kept.roundtrip()  # the other session's connection stays
            for revoked in (token, sibling["token"]):
                await assert_revoked(server, http, revoked)
            await assert_valid(http, other["token"])
            reply = await http.post(
                "/auth/refresh", json={"refresh_token": sibling["refresh_token"]}
            )
            assert reply.status_code == 401
            # logging out twice: the token is revoked already
            again = await http.post("/auth/logout", headers=bearer(token))
            assert again.status_code == 401


async def test_a_password_change_revokes_every_earlier_token(server: LiveServer) -> None:
    with trio.fail_after(20):
        async with server.http() as http:
            first = await sign_up_and_log_in(http)
            name = first["user"]["username"]
            second = await log_in(http, name)
            async with server.connect(token=second["token"]) as live:
                await live.roundtrip()
                reply = await http.post(
                    "/auth/password",
                    headers=bearer(first["token"]),
                    json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                )
                assert reply.status_code == 200, reply.text
                assert await live.wait_closed() == 4001
            fresh = reply.json()
            for old in (first, second):
                await assert_revoked(server, http, old["token"])
                refreshed = await http.post(
                    "/auth/refresh", json={"refresh_token": old["refresh_token"]}
                )
                assert refreshed.status_code == 401
            # the answer carries a session that works, issued in the same second or not
            await assert_valid(http, fresh["token"])
            async with server.connect(token=fresh["token"]) as client:
                await client.roundtrip()
            refreshed = await http.post(
                "/auth/refresh", json={"refresh_token": fresh["refresh_token"]}
            )
            assert refreshed.status_code == 200
            wrong = await http.post("/auth/login", json={"login": name, "password": PASSWORD})
            assert wrong.status_code == 401
            await log_in(http, name, NEW_PASSWORD)


async def test_a_password_change_needs_the_current_password(server: LiveServer) -> None:
    with trio.fail_after(20):
        async with server.http() as http:
            session = await sign_up_and_log_in(http)
            headers = bearer(session["token"])
            for body, status in (
                ({"current_password": "not it at all", "new_password": NEW_PASSWORD}, 401),
                ({"current_password": PASSWORD, "new_password": "short"}, 400),
                ({"current_password": PASSWORD}, 400),
            ):
                reply = await http.post("/auth/password", headers=headers, json=body)
                assert reply.status_code == status, reply.text
            await assert_valid(http, session["token"])  # nothing was revoked
            reply = await http.post("/auth/password", json={"current_password": PASSWORD})
            assert reply.status_code == 401


async def test_revocations_outlive_a_restart(tmp_path: Path) -> None:
    """Revocations are stored: a restarted server loads them before it takes a request."""
    url = f"sqlite:///{tmp_path}/restart.db"
    with trio.fail_after(30):
        async with open_live_server(settings_for(url)) as server, server.http() as http:
            logged_out = await sign_up_and_log_in(http)
            await http.post("/auth/logout", headers=bearer(logged_out["token"]))
            changed = await sign_up_and_log_in(http)
            reply = await http.post(
                "/auth/password",
                headers=bearer(changed["token"]),
                json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            )
            assert reply.status_code == 200
            kept = reply.json()["token"]
        async with open_live_server(settings_for(url)) as server, server.http() as http:
            await assert_revoked(server, http, logged_out["token"])
            await assert_revoked(server, http, changed["token"])
            await assert_valid(http, kept)


class LookupGatedStore(MemoryStore):
    """Handshake lookups (`get_users`, the lookup actor's batch) wait while `gate` is closed:
    a token can be revoked while a handshake that already checked it is under way."""

    def __init__(self) -> None:
        super().__init__()
        self.gate: trio.Event | None = None
        self.waiting = trio.Event()

    async def get_users(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
        if self.gate is not None:
            self.waiting.set()
            await self.gate.wait()
        return await super().get_users(user_ids)


async def test_a_handshake_under_way_when_its_token_is_revoked_is_closed_4001() -> None:
    store = LookupGatedStore()
    with trio.fail_after(20):
        async with open_live_server(settings_for("sqlite:///:memory:"), store=store) as server:
            user = await server.create_user()
            token = server.token(user)
            store.gate = trio.Event()
            async with trio.open_nursery() as nursery, server.http() as http:
                codes: list[int | None] = []

                async def connect() -> None:
                    async with server.connect(token=token) as client:
                        codes.append(await client.wait_closed())

                nursery.start_soon(connect)
                await store.waiting.wait()  # the token is checked, the user being looked up
                reply = await http.post("/auth/logout", headers=bearer(token))
                assert reply.status_code == 204, reply.text
                store.gate.set()
            assert codes == [4001]


async def test_the_janitor_purges_expired_token_records(tmp_path: Path) -> None:
    """Every login stores a refresh token: the janitor deletes the expired ones."""
    url = f"sqlite:///{tmp_path}/purge.db"
    with trio.fail_after(20):
        async with open_live_server(settings_for(url, refresh_ttl=0.001)) as server:
            async with server.http() as http:
                session = await sign_up_and_log_in(http)
                reply = await http.post(
                    "/ws/cleanup", headers={"Authorization": f"Bearer {session['token']}"}
                )
                assert reply.status_code == 403  # not an admin: the API key then
                reply = await http.post("/ws/cleanup", headers={"X-API-Key": API_KEY})
                assert reply.status_code == 200, reply.text
            assert await server.store.purge_tokens(datetime.now(UTC)) == 0  # done already
