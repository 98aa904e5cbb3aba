"""The HTTP API on a real server: every endpoint of docs/api.md with the right credentials.

Rules: a real server on port 0 with a real SQLite file; a real HTTP client (httpx) and real
trio-websocket clients; the real clock; an outer `trio.fail_after` in every test. Every
error is JSON `{"error": {"code", "message"}}` with the right status. Three kinds of
caller: anyone, a user (JWT), and an admin (a user with `is_admin`, or the application
backend with `X-API-Key`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from momentum.protocol import derive_message_id
from momentum.storage import User

from ._live import (
    API_KEY,
    Client,
    LiveServer,
    custom_server,
    expect_refused,
    received_until_roundtrip,
)

PASSWORD = "correct horse battery"
KEY = {"X-API-Key": API_KEY}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(reply: httpx.Response, status: int, code: str | None = None) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/json"), reply.headers
    error = reply.json()["error"]
    assert set(error) == {"code", "message"}, error
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.http() as client:
        yield client


async def register(
    http: httpx.AsyncClient, name: str | None = None, password: str = PASSWORD
) -> dict[str, Any]:
    name = name or f"u{uuid.uuid4().hex[:10]}"
    reply = await http.post(
        "/auth/register",
        json={"email": f"{name}@example.test", "username": name, "password": password},
    )
    assert reply.status_code == 201, reply.text
    user: dict[str, Any] = reply.json()["user"]
    return user


async def admin_token(server: LiveServer) -> str:
    return server.token(await server.create_user(admin=True))


# -- /auth/register ------------------------------------------------------------------------


async def test_register_returns_the_new_user(http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        reply = await http.post(
            "/auth/register",
            json={"email": "ann@example.test", "username": "ann", "password": PASSWORD},
        )
        assert reply.status_code == 201, reply.text
        user = reply.json()["user"]
        assert set(user) >= {"id", "email", "username", "is_active", "is_admin", "created_at"}
        uuid.UUID(user["id"])
        assert (user["email"], user["username"]) == ("ann@example.test", "ann")
        assert (user["is_active"], user["is_admin"]) == (True, False)
        assert "password" not in reply.text and PASSWORD not in reply.text


async def test_register_refuses_a_taken_email_or_username(http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await register(http, "ben")
        for body in (
            {"email": "ben@example.test", "username": "benjamin", "password": PASSWORD},
            {"email": "other@example.test", "username": "ben", "password": PASSWORD},
            {"email": "BEN@Example.test", "username": "benny", "password": PASSWORD},
            {"email": "other@example.test", "username": "BEN", "password": PASSWORD},
        ):
            assert_error(await http.post("/auth/register", json=body), 409, "conflict")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"email": "nope", "username": "cat", "password": PASSWORD}, id="email"),
        pytest.param({"email": "a@b", "username": "cat", "password": PASSWORD}, id="email no dot"),
        pytest.param({"email": "c@x.test", "username": "c", "password": PASSWORD}, id="short name"),
        pytest.param({"email": "c@x.test", "username": "a b", "password": PASSWORD}, id="space"),
        pytest.param({"email": "c@x.test", "username": "x" * 33, "password": PASSWORD}, id="long"),
        pytest.param({"email": "c@x.test", "username": "cat", "password": "short"}, id="short pw"),
        pytest.param({"email": "c@x.test", "username": "cat"}, id="no password"),
        pytest.param({"username": "cat", "password": PASSWORD}, id="no email"),
        pytest.param({"email": "c@x.test", "password": PASSWORD}, id="no username"),
        pytest.param({"email": 5, "username": "cat", "password": PASSWORD}, id="email int"),
        pytest.param({"email": "c@x.test", "username": "cat", "password": 1234567890}, id="pw int"),
    ],
)
async def test_register_validates_the_body(
    server: LiveServer, http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    with trio.fail_after(10):
        assert_error(await http.post("/auth/register", json=body), 400, "bad_request")
        assert await server.store.find_user("cat") is None


async def test_register_refuses_bodies_that_are_not_a_json_object(http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        reply = await http.post(
            "/auth/register", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert_error(reply, 400, "invalid_json")
        for content in (b"[]", b'["a@x.test", "a", "password-1"]', b'"text"', b"42"):
            reply = await http.post(
                "/auth/register", content=content, headers={"Content-Type": "application/json"}
            )
            assert_error(reply, 400, "bad_request")
        assert_error(await http.post("/auth/register"), 400)  # no body at all


# -- /auth/login -------------------------------------------------------------------------------


async def test_login_by_username_and_by_email(server: LiveServer, http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        user = await register(http, "dora")
        for body in (
            {"username": "dora", "password": PASSWORD},
            {"email": "dora@example.test", "password": PASSWORD},
        ):
            reply = await http.post("/auth/login", json=body)
            assert reply.status_code == 200, reply.text
            login = reply.json()
            assert set(login) >= {"token", "expires_at", "user"}
            assert login["user"]["id"] == user["id"]
            async with server.connect(token=login["token"]) as client:
                await client.roundtrip()


async def test_login_with_a_wrong_password_or_unknown_user_is_401(
    http: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        await register(http, "eve")
        for body in (
            {"username": "eve", "password": "wrong password"},
            {"email": "eve@example.test", "password": "wrong password"},
            {"username": "nobody", "password": PASSWORD},
        ):
            assert_error(await http.post("/auth/login", json=body), 401, "invalid_credentials")
        assert_error(await http.post("/auth/login", json={"password": PASSWORD}), 400)
        assert_error(await http.post("/auth/login", json={"username": "eve"}), 400)


async def test_disabled_user_cannot_log_in(server: LiveServer, http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        user = await register(http, "fay")
        await server.store.set_user_flags(uuid.UUID(user["id"]), is_active=False)
        reply = await http.post("/auth/login", json={"username": "fay", "password": PASSWORD})
        assert_error(reply, 403, "user_disabled")
        wrong = await http.post("/auth/login", json={"username": "fay", "password": "nope-nope"})
        assert_error(wrong, 401, "invalid_credentials")  # no hint that the account exists


# -- /ws/online and /ws/stats ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ws/online", "/ws/stats"])
async def test_read_endpoints_need_a_user_or_the_api_key(
    server: LiveServer, http: httpx.AsyncClient, path: str
) -> None:
    with trio.fail_after(10):
        assert_error(await http.get(path), 401, "token_missing")
        assert_error(await http.get(path, headers={"X-API-Key": "wrong"}), 401, "token_invalid")
        assert_error(await http.get(path, headers=bearer("not-a-jwt")), 401, "token_invalid")
        assert_error(await http.get(path, headers={"Authorization": "Basic abc"}), 401)
        disabled = await server.create_user(active=False)
        assert_error(await http.get(path, headers=bearer(server.token(disabled))), 403)
        user = await server.create_user()
        for headers in (bearer(server.token(user)), KEY):
            reply = await http.get(path, headers=headers)
            assert reply.status_code == 200, reply.text


async def test_online_lists_connected_users(server: LiveServer, http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        gus, hal = await server.create_user("gus"), await server.create_user("hal")
        async with server.connect(gus), server.connect(gus), server.connect(hal):
            await server.wait_connections(3)
            reply = await http.get("/ws/online", headers=bearer(server.token(hal)))
            body = reply.json()
            assert body["count"] == 2
            users = {u["username"]: u for u in body["users"]}
            assert users["gus"]["id"] == str(gus.id)
            assert (users["gus"]["connections"], users["hal"]["connections"]) == (2, 1)
            assert all(u["connected_since"] for u in body["users"])


async def test_stats_fields(server: LiveServer, http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        ivy, jon = await server.create_user(), await server.create_user()
        async with server.connect(ivy) as a, server.connect(jon) as b:
            await a.send(message_type="text", data={"content": "hi"})
            await a.receive_type("ack")
            await b.receive_type("text")
            stats = (await http.get("/ws/stats", headers=KEY)).json()
        for name in (
            "total_connections",
            "unique_users",
            "server_uptime",
            "messages_received",
            "messages_per_second",
            "deliveries",
        ):
            assert name in stats, name
        assert (stats["total_connections"], stats["unique_users"]) == (2, 2)
        assert stats["messages_received"] >= 1
        assert stats["messages_by_type"].get("text", 0) >= 1
        assert isinstance(stats["server_uptime"], int) and stats["server_uptime"] >= 0


# -- /ws/send ----------------------------------------------------------------------------------


async def test_send_as_a_user_reaches_every_connection_of_the_recipient(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(10):
        kim, leo, max_ = [await server.create_user() for _ in range(3)]
        async with (
            server.connect(leo) as l1,
            server.connect(leo) as l2,
            server.connect(max_) as m,
        ):
            await server.wait_connections(3)
            reply = await http.post(
                "/ws/send",
                headers=bearer(server.token(kim)),
                json={"to_user_id": str(leo.id), "data": {"content": "hello leo"}},
            )
            assert reply.status_code == 200, reply.text
            body = reply.json()
            assert set(body) == {"id", "delivered", "stored"}
            assert (body["delivered"], body["stored"]) == (2, True)
            for client in (l1, l2):
                got = await client.receive_type("text")
                assert got["id"] == body["id"]
                assert got["data"] == {"content": "hello leo"}
                assert got["from_user_id"] == str(kim.id)
                assert got["to_user_id"] == str(leo.id)
            assert not [x for x in await received_until_roundtrip(m) if x["message_type"] == "text"]


async def test_send_with_the_api_key_comes_from_the_system(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The backend may send system messages; a client-given UUID is kept (idempotency)."""
    with trio.fail_after(10):
        nia = await server.create_user()
        async with server.connect(nia) as client:
            await server.wait_connections(1)
            for kind in ("notification", "system_message"):
                client_id = str(uuid.uuid4())
                message_id = derive_message_id(None, client_id)
                reply = await http.post(
                    "/ws/send",
                    headers=KEY,
                    json={
                        "id": client_id,
                        "to_user_id": str(nia.id),
                        "message_type": kind,
                        "data": {"title": kind},
                    },
                )
                assert reply.status_code == 200, reply.text
                assert reply.json() == {
                    "id": message_id,
                    "ref_id": client_id,
                    "delivered": 1,
                    "stored": True,
                }
                got = await client.receive_type(kind)
                assert got["id"] == message_id
                assert got["from_user_id"] is None
                assert got["data"] == {"title": kind}


async def test_send_to_an_offline_user_delivers_nothing(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(10):
        offline = await server.create_user()
        reply = await http.post(
            "/ws/send", headers=KEY, json={"to_user_id": str(offline.id), "data": {}}
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["delivered"] == 0


async def test_send_refusals(server: LiveServer, http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        ola, pat = await server.create_user(), await server.create_user()
        as_ola = bearer(server.token(ola))
        to_pat = {"to_user_id": str(pat.id)}
        cases: list[tuple[dict[str, str], Any, int, str | None]] = [
            ({}, to_pat, 401, "token_missing"),
            (as_ola, {**to_pat, "message_type": "system_message"}, 400, "forbidden_type"),
            (as_ola, {**to_pat, "message_type": "user_joined"}, 400, "forbidden_type"),
            (KEY, {**to_pat, "message_type": "ping"}, 400, "forbidden_type"),
            (as_ola, {**to_pat, "message_type": "shout"}, 400, "unknown_type"),
            (as_ola, {"data": {"content": "to whom?"}}, 400, "bad_request"),
            (KEY, {"data": {"content": "to whom?"}}, 400, "bad_request"),
            (as_ola, {"to_user_id": "pat"}, 400, "invalid_uuid"),
            (as_ola, {**to_pat, "id": "not-a-uuid"}, 400, "invalid_uuid"),
            (as_ola, {**to_pat, "from_user_id": str(pat.id)}, 400, "sender_mismatch"),
            (KEY, {**to_pat, "from_user_id": str(pat.id)}, 400, "sender_mismatch"),
            (as_ola, {**to_pat, "data": "text"}, 400, "invalid_envelope"),
            (as_ola, [to_pat], 400, "bad_request"),
        ]
        async with server.connect(pat) as client:
            for headers, body, status, code in cases:
                reply = await http.post("/ws/send", headers=headers, json=body)
                assert_error(reply, status, code)
            seen = await received_until_roundtrip(client)
            assert not [m for m in seen if m["message_type"] not in ("user_joined", "user_left")]


async def test_send_over_the_frame_limit_is_413(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with custom_server(tmp_path, max_message_size=1024) as server, server.http() as http:
            user = await server.create_user()
            reply = await http.post(
                "/ws/send",
                headers=KEY,
                json={"to_user_id": str(user.id), "data": {"content": "x" * 2000}},
            )
            assert_error(reply, 413)


# -- /ws/broadcast -----------------------------------------------------------------------------


async def test_broadcast_is_for_admins_and_the_api_key(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(10):
        admin = await server.create_user(admin=True)
        users = [await server.create_user() for _ in range(3)]
        body = {"data": {"content": "maintenance at noon"}}
        assert_error(await http.post("/ws/broadcast", json=body), 401)
        reply = await http.post("/ws/broadcast", headers=bearer(server.token(users[0])), json=body)
        assert_error(reply, 403, "forbidden")
        async with AsyncExitStack() as stack:
            clients: list[Client] = [
                await stack.enter_async_context(server.connect(user))
                for user in (*users, users[0], admin)
            ]
            await server.wait_connections(len(clients))
            for headers, sender in ((bearer(server.token(admin)), str(admin.id)), (KEY, None)):
                reply = await http.post("/ws/broadcast", headers=headers, json=body)
                assert reply.status_code == 200, reply.text
                result = reply.json()
                assert set(result) == {"id", "recipients"}
                assert result["recipients"] == len(clients)
                for client in clients:
                    got = await client.receive_type("system_message")
                    assert got["id"] == result["id"]
                    assert got["data"] == body["data"]
                    assert got["from_user_id"] == sender
                    assert got["to_user_id"] is None


async def test_broadcast_refusals(server: LiveServer, http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        for body, code in (
            ({"to_user_id": str(user.id)}, "bad_request"),
            ({"message_type": "ack"}, "forbidden_type"),
            ({"data": [1]}, "invalid_envelope"),
        ):
            assert_error(await http.post("/ws/broadcast", headers=KEY, json=body), 400, code)
        reply = await http.post("/ws/broadcast", headers=KEY, json={"message_type": "text"})
        assert reply.json()["recipients"] == 0


# -- /ws/cleanup -------------------------------------------------------------------------------


async def test_cleanup_is_for_admins_and_removes_nothing_fresh(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        assert_error(await http.post("/ws/cleanup"), 401)
        reply = await http.post("/ws/cleanup", headers=bearer(server.token(user)))
        assert_error(reply, 403, "forbidden")
        async with server.connect(user) as client:
            await server.wait_connections(1)
            for headers in (bearer(await admin_token(server)), KEY):
                reply = await http.post("/ws/cleanup", headers=headers)
                assert reply.status_code == 200, reply.text
                assert reply.json() == {"removed": 0}
            await client.roundtrip()


# -- PATCH /users/<id> -------------------------------------------------------------------------


async def test_disabling_a_user_closes_its_connections_and_locks_it_out(
    server: LiveServer, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="momentum.http")
    with trio.fail_after(15):
        quin = await register(http, "quin")
        login = await http.post("/auth/login", json={"username": "quin", "password": PASSWORD})
        token = login.json()["token"]
        bystander = await server.create_user()
        async with (
            server.connect(token=token) as q1,
            server.connect(token=token) as q2,
            server.connect(bystander) as other,
        ):
            await server.wait_connections(3)
            admin = await server.create_user(admin=True)
            reply = await http.patch(
                f"/users/{quin['id']}",
                headers=bearer(server.token(admin)),
                json={"is_active": False},
            )
            assert reply.status_code == 200, reply.text
            assert reply.json()["user"]["is_active"] is False
            assert reply.json()["closed_connections"] == 2
            assert await q1.wait_closed() == 4003
            assert await q2.wait_closed() == 4003
            await server.wait_connections(1)
            await other.roundtrip()
        refusal = await expect_refused(server.ws_url(token))
        assert (refusal.status, refusal.code) == (403, "user_disabled")
        reply = await http.post("/auth/login", json={"username": "quin", "password": PASSWORD})
        assert_error(reply, 403, "user_disabled")
        assert_error(await http.get("/ws/online", headers=bearer(token)), 403, "user_disabled")
        # ...and enabling it again lets it back in.
        reply = await http.patch(f"/users/{quin['id']}", headers=KEY, json={"is_active": True})
        assert reply.status_code == 200, reply.text
        said = [r.getMessage() for r in caplog.records if r.name == "momentum.http"]
        assert said == [
            f"user quin ({quin['id']}) disabled by {admin.username}: 2 connection(s) closed",
            f"user quin ({quin['id']}) enabled by the API key: 0 connection(s) closed",
        ]
        async with server.connect(token=token) as client:
            await client.roundtrip()


async def test_patch_user_refusals(server: LiveServer, http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        path = f"/users/{user.id}"
        body = {"is_active": False}
        assert_error(await http.patch(path, json=body), 401)
        assert_error(await http.patch(path, headers=bearer(server.token(user)), json=body), 403)
        assert_error(await http.patch("/users/not-a-uuid", headers=KEY, json=body), 400)
        assert_error(await http.patch(f"/users/{uuid.uuid4()}", headers=KEY, json=body), 404)
        assert_error(await http.patch(path, headers=KEY, json={"is_active": "no"}), 400)
        still: User | None = await server.store.get_user(user.id)
        assert still is not None and still.is_active


async def test_admin_flag_grants_admin_endpoints(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        token = server.token(user)
        assert_error(await http.post("/ws/cleanup", headers=bearer(token)), 403)
        reply = await http.patch(f"/users/{user.id}", headers=KEY, json={"is_admin": True})
        assert reply.json()["user"]["is_admin"] is True
        assert (await http.post("/ws/cleanup", headers=bearer(token))).status_code == 200


# -- /health, /metrics, and the rest -----------------------------------------------------------


async def test_health(http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        reply = await http.get("/health")
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["status"] == "ok"
        assert body["checks"]["database"]["status"] == "ok"
        assert body["checks"]["hub"]["status"] == "ok"


async def test_metrics_are_prometheus_text(server: LiveServer, http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        user = await server.create_user()
        async with server.connect(user) as client:
            await client.send(message_type="text", data={"content": "counted"})
            await client.receive_type("ack")
            reply = await http.get("/metrics")
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"].startswith("text/plain")
        lines = reply.text.splitlines()
        assert "momentum_connections 1.0" in lines
        assert any(
            line.startswith('momentum_messages_received_total{type="text"}') for line in lines
        ), reply.text
        assert "# TYPE momentum_connections gauge" in lines
        assert any(line.startswith("# TYPE momentum_messages_received") for line in lines)
        assert 'momentum_messages_delivered_total{type="text"} 1.0' in lines
        assert not any('type="ack"' in line for line in lines)  # a reply, not routed
        closed = 'momentum_connection_closes_total{code="1000"} 1.0'  # the client closed, 1000
        while closed not in (await http.get("/metrics")).text.splitlines():  # noqa: ASYNC110
            await trio.sleep(0.01)  # counted when the server's side of the close is done


async def test_metrics_can_require_the_api_key(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with (
            custom_server(tmp_path, metrics_require_key=True) as server,
            server.http() as http,
        ):
            assert_error(await http.get("/metrics"), 401)
            assert (await http.get("/metrics", headers=KEY)).status_code == 200


async def test_unknown_path_is_404_json(http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        assert_error(await http.get("/no/such/thing"), 404, "not_found")
        assert_error(await http.post("/ws/nothing", headers=KEY), 404, "not_found")


async def test_wrong_method_is_405_json(http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        assert_error(await http.get("/ws/send", headers=KEY), 405)
        assert_error(await http.delete("/auth/login"), 405)


async def test_body_over_the_limit_is_413_json(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with custom_server(tmp_path, max_request_body=1024) as server, server.http() as http:
            big = {"email": "big@example.test", "username": "big", "password": "p" * 2000}
            assert_error(await http.post("/auth/register", json=big), 413, "request_too_large")

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(8):
                    yield b" " * 512

            reply = await http.post(
                "/ws/send",
                headers={**KEY, "Content-Type": "application/json"},
                content=chunks(),
            )
            assert_error(reply, 413, "request_too_large")
            # A small body still works on the same server.
            small = {"email": "ok@example.test", "username": "okay", "password": PASSWORD}
            assert (await http.post("/auth/register", json=small)).status_code == 201


async def test_get_ws_without_upgrade_is_426(http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        assert_error(await http.get("/ws"), 426)
        assert_error(await http.get("/ws?token=abc"), 426)


async def test_cors_answers_only_the_allowed_origins(tmp_path: Path, server: LiveServer) -> None:
    """A browser page of an allowed origin may call the API (preflight, then the request);
    another origin, or any origin without `HTTP_ALLOWED_ORIGINS`, gets no CORS header."""
    app, other = "https://app.example", "https://evil.example"
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    with trio.fail_after(30):
        async with server.http() as http:
            reply = await http.options("/auth/login", headers={"Origin": app, **preflight})
            assert "access-control-allow-origin" not in reply.headers
        async with (
            custom_server(tmp_path, http_allowed_origins=frozenset({app})) as allowed,
            allowed.http() as http,
        ):
            reply = await http.options("/auth/login", headers={"Origin": app, **preflight})
            assert reply.headers["access-control-allow-origin"] == app
            assert "POST" in reply.headers["access-control-allow-methods"]
            assert "content-type" in reply.headers["access-control-allow-headers"].lower()
            reply = await http.get("/health", headers={"Origin": app})
            assert reply.headers["access-control-allow-origin"] == app
            reply = await http.get("/health", headers={"Origin": other})
            assert "access-control-allow-origin" not in reply.headers
            refused = await http.options("/auth/login", headers={"Origin": other, **preflight})
            assert "access-control-allow-origin" not in refused.headers
