"""The operator dashboard's HTTP side on a real server: page, sign-in, feed, actions.

Rules: a real server on port 0 with a real SQLite file; a real HTTP client (httpx, keeping
cookies like a browser) and real trio-websocket clients; the real clock (the feed pushes
once a second, so a test waits for a snapshot that shows what it expects, never for a
time); an outer `trio.fail_after` in every test. The browser itself is in
tests/server/test_dashboard_browser.py.
"""

from __future__ import annotations

import logging
from unittest.mock import ANY

import pytest
import trio

from momentum.dashboard import FILES

from ._dashboard import PASSWORD, create_with_password, signed_in, snapshots, wait_snapshot
from ._live import LiveServer, expect_refused
from .test_rooms_ws import http_publish, new_room, subscribe

READS = ["/dashboard/api/events", "/dashboard/api/online"]
ACTIONS = [
    ("/dashboard/api/logout", {}),
    ("/dashboard/api/broadcast", {"content": "hello"}),
    ("/dashboard/api/send", {"username": "nobody", "content": "hello"}),
    ("/dashboard/api/users/active", {"username": "nobody", "is_active": False}),
    ("/dashboard/api/users/disconnect", {"username": "nobody"}),
    ("/dashboard/api/cleanup", {}),
]


async def test_page_and_files_are_served_from_the_package(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.http() as http:
            page = await http.get("/dashboard")
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert "default-src 'self'" in page.headers["content-security-policy"]
            assert "/dashboard/static/dashboard.js" in page.text
            for name in FILES:
                reply = await http.get(f"/dashboard/static/{name}")
                assert reply.status_code == 200, name
                assert reply.content
            assert (await http.get("/dashboard/static/../config.py")).status_code == 404
            assert (await http.get("/dashboard/static/nope.js")).status_code == 404


async def test_sign_in_sets_a_strict_httponly_cookie(server: LiveServer) -> None:
    with trio.fail_after(10):
        admin = await create_with_password(server, admin=True)
        async with server.http() as http:
            assert (await http.get("/dashboard/api/session")).json() == {
                "user": None,
                "csrf": None,
            }
            reply = await http.post(
                "/dashboard/api/login", json={"username": admin.username, "password": PASSWORD}
            )
            assert reply.status_code == 200, reply.text
            cookie = reply.headers["set-cookie"]
            assert cookie.startswith("momentum_dashboard=")
            for attribute in ("HttpOnly", "SameSite=Strict", "Path=/dashboard"):
                assert attribute in cookie, cookie
            assert "token" not in reply.json()  # the token only ever travels in the cookie
            session = (await http.get("/dashboard/api/session")).json()
            assert session["user"]["username"] == admin.username
            assert len(session["csrf"]) == 64


async def test_sign_in_refuses_wrong_passwords_non_admins_and_forms(server: LiveServer) -> None:
    with trio.fail_after(10):
        admin = await create_with_password(server, admin=True)
        user = await create_with_password(server, admin=False)
        async with server.http() as http:
            login = "/dashboard/api/login"
            wrong = await http.post(login, json={"username": admin.username, "password": "x"})
            assert wrong.status_code == 401
            assert wrong.json()["error"]["code"] == "invalid_credentials"
            assert "set-cookie" not in wrong.headers
            plain = await http.post(login, json={"username": user.username, "password": PASSWORD})
            assert plain.status_code == 403
            form = await http.post(login, data={"username": admin.username, "password": PASSWORD})
            assert form.status_code == 415
            assert (await http.get("/dashboard/api/session")).json()["user"] is None


async def test_every_endpoint_needs_an_admin_session(server: LiveServer) -> None:
    with trio.fail_after(20):
        user = await create_with_password(server, admin=False)
        async with server.http() as anonymous:
            for path in READS:
                assert (await anonymous.get(path)).status_code == 401, path
            for path, body in ACTIONS:
                assert (await anonymous.post(path, json=body)).status_code == 401, path
        async with server.http() as http:  # a valid token of a user who is not an admin
            http.cookies.set("momentum_dashboard", server.token(user), path="/dashboard")
            for path in READS:
                assert (await http.get(path)).status_code == 403, path
            for path, body in ACTIONS:
                assert (await http.post(path, json=body)).status_code == 403, path
        async with server.http() as http:  # the API's bearer token is not a session
            auth = {"Authorization": f"Bearer {server.token(user)}"}
            assert (await http.get("/dashboard/api/online", headers=auth)).status_code == 401


async def test_actions_need_the_csrf_token_and_json(server: LiveServer) -> None:
    with trio.fail_after(20):
        admin = await create_with_password(server, admin=True)
        async with signed_in(server, admin) as http:
            token = http.headers.pop("X-CSRF-Token")
            for path, body in ACTIONS:
                missing = await http.post(path, json=body)
                assert missing.status_code == 403, path
                assert "X-CSRF-Token" in missing.json()["error"]["message"]
                forged = await http.post(path, json=body, headers={"X-CSRF-Token": "0" * 64})
                assert forged.status_code == 403, path
            as_form = await http.post(
                "/dashboard/api/cleanup", data={"x": "1"}, headers={"X-CSRF-Token": token}
            )
            assert as_form.status_code == 415
            ok = await http.post("/dashboard/api/cleanup", json={}, headers={"X-CSRF-Token": token})
            assert ok.status_code == 200


async def test_sign_out_clears_the_cookie(server: LiveServer) -> None:
    with trio.fail_after(10):
        admin = await create_with_password(server, admin=True)
        async with signed_in(server, admin) as http:
            reply = await http.post("/dashboard/api/logout", json={})
            assert reply.status_code == 200
            assert "momentum_dashboard=" in reply.headers["set-cookie"]
            assert "Max-Age=0" in reply.headers["set-cookie"]
            assert (await http.get("/dashboard/api/session")).json()["user"] is None
            assert (await http.get("/dashboard/api/online")).status_code == 401


async def test_sign_out_revokes_the_session_token(server: LiveServer) -> None:
    """A cookie kept from before the sign-out (a copy, another tab) is refused after it."""
    with trio.fail_after(10):
        admin = await create_with_password(server, admin=True)
        async with signed_in(server, admin) as http:
            old_cookie = http.cookies["momentum_dashboard"]
            csrf = http.headers["X-CSRF-Token"]
            assert (await http.post("/dashboard/api/logout", json={})).status_code == 200
        async with server.http() as replay:
            replay.cookies.set("momentum_dashboard", old_cookie, path="/dashboard")
            reply = await replay.get("/dashboard/api/online")
            assert reply.status_code == 401
            assert reply.json()["error"]["code"] == "token_revoked"
            assert (await replay.get("/dashboard/api/session")).json()["user"] is None
            action = await replay.post(
                "/dashboard/api/cleanup", json={}, headers={"X-CSRF-Token": csrf}
            )
            assert action.status_code == 401


async def test_a_disabled_admin_is_signed_out_at_once(server: LiveServer) -> None:
    with trio.fail_after(20):
        admin = await create_with_password(server, admin=True)
        async with signed_in(server, admin) as http:
            feed = snapshots(http)
            await wait_snapshot(feed, lambda s: True)
            await server.store.set_user_flags(admin.id, is_active=False, is_admin=None)
            async for event, _ in feed:
                if event == "signed_out":
                    break
            assert (await http.get("/dashboard/api/online")).status_code == 403


async def test_the_feed_follows_connections_coming_and_going(server: LiveServer) -> None:
    with trio.fail_after(30):
        admin = await create_with_password(server, admin=True)
        alice, bob = await server.create_user(), await server.create_user()
        async with signed_in(server, admin) as http:
            feed = snapshots(http)
            first = await wait_snapshot(feed, lambda s: s["connections"] == 0)
            assert first["store"] == {"backend": "sqlite", "state": "ok", "backlog": 0}
            assert first["broker"] is None
            (node,) = first["nodes"]
            assert node["store"] == "ok" and node["version"] and node["host"]
            async with server.connect(alice) as a, server.connect(bob), server.connect(bob):
                await a.send(message_type="text", data={"content": "hi"})
                busy = await wait_snapshot(
                    feed, lambda s: s["connections"] == 3 and s["users"] == 2
                )
                assert busy["nodes"][0]["connections"] == 3
                rated = await wait_snapshot(feed, lambda s: s["messages_in"].get("text") == 1)
                assert "text" in rated["messages_out"]
                listed = (await http.get("/dashboard/api/online")).json()
                assert listed["matched"] == 2
                found = (await http.get(f"/dashboard/api/online?q={bob.username[2:]}")).json()
                assert [u["username"] for u in found["users"]] == [bob.username]
                assert found["users"][0]["connections"] == 2
            gone = await wait_snapshot(feed, lambda s: s["connections"] == 0)
            assert gone["users"] == 0
            assert gone["closes"].get("1000", 0) + gone["closes"].get("1001", 0) >= 3


async def test_the_feed_counts_refused_handshakes(server: LiveServer) -> None:
    with trio.fail_after(20):
        admin = await create_with_password(server, admin=True)
        async with signed_in(server, admin) as http:
            feed = snapshots(http)
            await wait_snapshot(feed, lambda s: True)
            refused = await expect_refused(server.ws_url("not-a-token"))
            assert refused.status == 401
            seen = await wait_snapshot(feed, lambda s: sum(s["refusals"].values()) >= 1)
            assert seen["refusals"]


async def test_actions_reach_real_clients(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "momentum")
    with trio.fail_after(30):
        admin = await create_with_password(server, admin=True)
        alice = await server.create_user()
        async with signed_in(server, admin) as http, server.connect(alice) as client:
            notice = await http.post("/dashboard/api/broadcast", json={"content": "maintenance"})
            assert notice.json()["recipients"] == 1
            got = await client.receive_type("system_message")
            assert got["data"]["content"] == "maintenance"
            assert got["from_user_id"] == str(admin.id)

            sent = await http.post(
                "/dashboard/api/send", json={"username": alice.username, "content": "for you"}
            )
            assert sent.json()["delivered"] == 1 and sent.json()["stored"]
            got = await client.receive_type("notification")
            assert got["data"]["content"] == "for you" and got["to_user_id"] == str(alice.id)
            missing = await http.post(
                "/dashboard/api/send", json={"username": "nobody-here", "content": "x"}
            )
            assert missing.status_code == 404

            off = {"username": alice.username, "is_active": False}
            disabled = await http.post("/dashboard/api/users/active", json=off)
            assert disabled.json()["closed_connections"] == 1
            assert await client.wait_closed() == 4003
        async with signed_in(server, admin) as http:
            on = {"username": alice.username, "is_active": True}
            assert (await http.post("/dashboard/api/users/active", json=on)).status_code == 200
            async with server.connect(alice) as client:
                await client.roundtrip()
            cleaned = await http.post("/dashboard/api/cleanup", json={})
            assert cleaned.json() == {"removed": 0}
            self_off = {"username": admin.username, "is_active": False}
            assert (
                await http.post("/dashboard/api/users/active", json=self_off)
            ).status_code == 400
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    who = admin.username
    assert any(f"{who} broadcast a notice" in line for line in logged)
    assert any(f"{who} sent a notice to {alice.username}" in line for line in logged)
    assert any(f"{alice.username}" in line and f"disabled by {who}" in line for line in logged)
    assert any(f"enabled by {who}" in line for line in logged)
    assert any(f"cleanup run by {who}" in line for line in logged)


async def test_disconnect_closes_a_users_connections_and_it_may_come_back(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "momentum")
    with trio.fail_after(30):
        admin = await create_with_password(server, admin=True)
        alice, bob = await server.create_user(), await server.create_user()
        async with signed_in(server, admin) as http, server.connect(bob) as other:
            async with server.connect(alice) as one, server.connect(alice) as two:
                reply = await http.post(
                    "/dashboard/api/users/disconnect", json={"username": alice.username}
                )
                assert reply.status_code == 200
                assert reply.json()["closed_connections"] == 2
                assert await one.wait_closed() == 4004
                assert await two.wait_closed() == 4004
            await other.roundtrip()  # the others stay connected
            async with server.connect(alice) as again:  # the account is still enabled
                await again.roundtrip()
            missing = await http.post("/dashboard/api/users/disconnect", json={"username": "x"})
            assert missing.status_code == 404
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    expected = f"{alice.username} ({alice.id}) disconnected by {admin.username} (dashboard)"
    assert any(expected in line for line in logged)


async def test_the_feed_shows_latency_errors_and_the_busiest_rooms(server: LiveServer) -> None:
    with trio.fail_after(40):
        admin = await create_with_password(server, admin=True)
        alice = await server.create_user()
        room_id = await new_room(server, alice)
        async with signed_in(server, admin) as http, server.connect(alice) as client:
            feed = snapshots(http)
            quiet = await wait_snapshot(feed, lambda s: s["connections"] == 1)
            assert quiet["errors"]["envelopes"] == {}
            await subscribe(client, room_id)
            await client.ws.send_message("not json")
            assert (await client.receive_type("error"))["data"]["code"] == "invalid_json"
            for n in range(10):
                await http_publish(http, room_id, n)
            seen = await wait_snapshot(
                feed, lambda s: s["errors"]["envelopes"] == {"invalid_json": 1}
            )
            assert seen["rooms"]["by_subscribers"] == [
                {"id": room_id, "subscribers": 1, "messages_per_second": ANY}
            ]
            assert seen["latency"]["count"] >= 10
            assert 0 < seen["latency"]["p50_ms"] <= seen["latency"]["p99_ms"] <= 500
            assert seen["errors"]["internal"] == seen["errors"]["store"] == 0
            # the rate is that of the last whole window of 5 s, so it shows within 10 s
            busy = await wait_snapshot(feed, lambda s: bool(s["rooms"]["by_messages"]))
            (room,) = busy["rooms"]["by_messages"]
            assert room["id"] == room_id and room["messages_per_second"] > 0
