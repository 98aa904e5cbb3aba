"""Password guessing and sign-up floods against a real server: throttles and the hash queue.

Rules: a real server on port 0 with a real SQLite file (`custom_server`, with the limits
under test set small), a real HTTP client (httpx), the real clock, an outer
`trio.fail_after` in every test. Where a test needs the hashing queue busy, it holds the
server's one hashing slot itself, so who waits where is exact and no test depends on how
fast the machine hashes.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import trio
import trio.testing

from momentum.auth import HashQueueStats, Priority
from momentum.wire import TrustedProxies

from ._live import LiveServer, custom_server

PASSWORD = "correct horse battery"


async def register(http: httpx.AsyncClient, name: str | None = None) -> httpx.Response:
    name = name or f"u{uuid.uuid4().hex[:10]}"
    return await http.post(
        "/auth/register",
        json={"email": f"{name}@example.test", "username": name, "password": PASSWORD},
    )


async def login(
    http: httpx.AsyncClient, name: str, password: str, **headers: str
) -> httpx.Response:
    return await http.post(
        "/auth/login", json={"login": name, "password": password}, headers=headers
    )


def assert_throttled(reply: httpx.Response, status: int = 429, code: str = "rate_limited") -> int:
    assert reply.status_code == status, reply.text
    assert reply.json()["error"]["code"] == code
    retry = int(reply.headers["Retry-After"])
    assert retry >= 1
    return retry


async def test_guessing_one_password_is_throttled_then_forgiven(tmp_path: Path) -> None:
    """40 wrong passwords in a row: after the burst, 429 with Retry-After; the real user gets
    in one refill interval after the guessing stops."""
    with trio.fail_after(30):
        async with (
            custom_server(tmp_path, login_account_burst=5, login_account_refill=1.0) as server,
            server.http() as http,
        ):
            assert (await register(http, "victim")).status_code == 201
            statuses = [
                (await login(http, "victim", f"guess{i:04}")).status_code for i in range(40)
            ]
            assert statuses == [401] * 5 + [429] * 35
            # by email too: the bucket is the account's, not the name's
            reply = await login(http, "victim@example.test", PASSWORD)
            assert assert_throttled(reply) == 1
            await trio.sleep(1.1)
            assert (await login(http, "victim", PASSWORD)).status_code == 200
            # a right password does not count: the user may log in again and again
            for _ in range(5):
                assert (await login(http, "VICTIM", PASSWORD)).status_code == 200


async def test_one_address_guessing_many_accounts_is_throttled(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with custom_server(tmp_path, login_ip_burst=8) as server, server.http() as http:
            statuses = [
                (await login(http, f"nobody{i}", "whatever123")).status_code for i in range(10)
            ]
            assert statuses == [401] * 8 + [429] * 2
            assert_throttled(await login(http, "nobody99", "whatever123"))


async def test_address_comes_from_a_trusted_proxy_only(tmp_path: Path) -> None:
    """Behind a trusted proxy each forwarded client has its own bucket; from anyone else the
    header is ignored, so rotating it does not escape the throttle."""
    with trio.fail_after(30):
        async with custom_server(tmp_path, login_ip_burst=2) as server, server.http() as http:
            for i in range(2):
                await login(http, f"n{i}", "whatever123", **{"X-Forwarded-For": f"203.0.113.{i}"})
            reply = await login(http, "n3", "whatever123", **{"X-Forwarded-For": "203.0.113.9"})
            assert_throttled(reply)
        proxies = TrustedProxies.parse("127.0.0.1")
        async with (
            custom_server(tmp_path, login_ip_burst=2, trusted_proxies=proxies) as server,
            server.http() as http,
        ):
            forwarded = {"X-Forwarded-For": "203.0.113.1"}
            statuses = [
                (await login(http, f"n{i}", "whatever123", **forwarded)).status_code
                for i in range(3)
            ]
            assert statuses == [401, 401, 429]
            other = {"X-Forwarded-For": "203.0.113.2"}
            assert (await login(http, "n9", "whatever123", **other)).status_code == 401


async def test_sign_ups_are_throttled_per_address(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with custom_server(tmp_path, register_ip_burst=3) as server, server.http() as http:
            statuses = [(await register(http)).status_code for _ in range(4)]
            assert statuses == [201, 201, 201, 429]
            assert assert_throttled(await register(http)) == 60
            # logins are another budget
            assert (await login(http, "nobody", "whatever123")).status_code == 401


async def test_sign_ups_past_the_hash_queue_are_refused_503(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with (
            custom_server(
                tmp_path, hash_concurrency=1, hash_max_waiting_signups=1, register_ip_burst=100
            ) as server,
            server.http() as http,
        ):
            queue = server.running.services.hasher.queue
            replies: list[httpx.Response] = []
            # the test holds the one slot: nobody hashes meanwhile
            async with trio.open_nursery() as nursery, queue.slot(Priority.LOGIN):
                nursery.start_soon(_append, replies, register(http))
                await _wait_queue(server, HashQueueStats(1, 0, 1))
                reply = await register(http)
                assert_throttled(reply, 503, "busy")
                assert "retry" in reply.json()["error"]["message"]
            assert [r.status_code for r in replies] == [201]


async def test_a_login_goes_before_waiting_sign_ups(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with (
            custom_server(tmp_path, hash_concurrency=1, register_ip_burst=100) as server,
            server.http() as http,
        ):
            assert (await register(http, "early")).status_code == 201
            queue = server.running.services.hasher.queue
            done: list[str] = []
            async with trio.open_nursery() as nursery, queue.slot(Priority.SIGNUP):
                for i in range(3):
                    nursery.start_soon(_finish, done, f"signup{i}", register(http))
                    await _wait_queue(server, HashQueueStats(1, 0, i + 1))
                nursery.start_soon(_finish, done, "login", login(http, "early", PASSWORD))
                await _wait_queue(server, HashQueueStats(1, 1, 3))
            assert done[0] == "login"
            assert sorted(done[1:]) == ["signup0", "signup1", "signup2"]


async def _append(replies: list[httpx.Response], request: Any) -> None:
    replies.append(await request)


async def _finish(done: list[str], name: str, request: Any) -> None:
    reply = await request
    assert reply.status_code in (200, 201), reply.text
    done.append(name)


async def _wait_queue(server: LiveServer, expected: HashQueueStats) -> None:
    queue = server.running.services.hasher.queue
    while queue.statistics() != expected:  # noqa: ASYNC110 - the queue has no event to wait on
        await trio.sleep(0.01)
