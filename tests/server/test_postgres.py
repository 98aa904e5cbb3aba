"""The whole server on PostgreSQL: the same flows as on SQLite, and a database restart.

Rules: real server, real clients, real PostgreSQL (MOMENTUM_TEST_POSTGRES_URL; skipped with
the reason shown when unset, run by CI); each test gets its own schema, dropped afterwards.
The restart test stops and starts the machine's PostgreSQL cluster, so it also needs
MOMENTUM_TEST_PG_RESTART=1 (CI sets it; a shared laptop database is left alone).
Skips are decided outside Trio (a `skipif` mark, a sync fixture): pytest-trio 0.8 reports a
`pytest.skip` raised inside Trio without its reason.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from tests.storage.conftest import POSTGRES_ENV, open_pg_schema

from ._live import API_KEY, LiveServer, open_live_server, settings_for, texts_until_quiet
from .test_delivery import send_stored

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get(POSTGRES_ENV), reason=f"PostgreSQL: set {POSTGRES_ENV} to run"
    ),
]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with open_pg_schema(os.environ[POSTGRES_ENV], "srv") as url:
        yield url


@pytest.fixture
async def pg_server(pg_url: str) -> AsyncIterator[LiveServer]:
    async with open_live_server(settings_for(pg_url)) as live:
        yield live


async def test_a_nul_byte_in_a_login_is_a_400_not_a_database_outage(
    pg_server: LiveServer,
) -> None:
    with trio.fail_after(30):
        async with pg_server.http() as http:
            login = await http.post(
                "/auth/login", json={"username": "al\x00ice", "password": "whatever-123"}
            )
            register = await http.post(
                "/auth/register",
                json={"email": "a\x00b@example.com", "username": "nul_user", "password": "x" * 12},
            )
            metrics = (await http.get("/metrics")).text
        assert (login.status_code, register.status_code) == (400, 400)
        assert "momentum_storage_errors_total 0.0" in metrics.splitlines()


async def test_register_login_and_durable_delivery_on_postgres(pg_server: LiveServer) -> None:
    server = pg_server
    with trio.fail_after(30):
        async with server.http() as http:
            reply = await http.post(
                "/auth/register",
                json={"email": "pg@example.test", "username": "pguser", "password": "password-1"},
            )
            assert reply.status_code == 201, reply.text
            login = await http.post(
                "/auth/login", json={"username": "pguser", "password": "password-1"}
            )
            assert login.status_code == 200
            health = await http.get("/health")
            assert health.json()["checks"]["database"] == {"status": "ok", "backend": "postgresql"}
        alice, bob = await server.create_user(), await server.create_user()
        async with server.connect(alice) as a:
            await send_stored(a, bob, 20)
        async with server.connect(bob) as b:
            got = await texts_until_quiet(b)
            assert [m["data"]["i"] for m in got] == list(range(20))
            await b.send(message_type="ack", data={"ids": [m["id"] for m in got]})
            await b.roundtrip()
        while await server.store.count_pending(bob.id):  # noqa: ASYNC110 - acks are batched
            await trio.sleep(0.02)


@pytest.fixture
def cluster() -> str:
    """The version of the local PostgreSQL cluster that the restart test may restart."""
    if os.environ.get("MOMENTUM_TEST_PG_RESTART") != "1":
        pytest.skip("restarts the machine's PostgreSQL: set MOMENTUM_TEST_PG_RESTART=1")
    versions = sorted(os.listdir("/etc/postgresql")) if Path("/etc/postgresql").is_dir() else []
    if not versions:
        pytest.skip("no local PostgreSQL cluster to restart")
    return versions[-1]


async def _pg_ctl(cluster: str, action: str) -> None:
    await trio.run_process(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", action],
        capture_stdout=True,
        capture_stderr=True,
    )


async def _health(server: LiveServer) -> tuple[int, str]:
    async with server.http() as http:
        reply = await http.get("/health")
    return reply.status_code, reply.json()["checks"]["database"]["status"]


async def test_postgres_restart_fails_clearly_then_recovers_by_itself(
    cluster: str, pg_server: LiveServer
) -> None:
    server = pg_server
    alice, bob = await server.create_user(), await server.create_user()
    with trio.fail_after(90):
        assert await _health(server) == (200, "ok")
        await _pg_ctl(cluster, "stop")
        try:
            assert await _health(server) == (503, "down")
            async with server.http() as http:
                reply = await http.post(
                    "/auth/register",
                    json={"email": "x@example.test", "username": "xuser", "password": "password-1"},
                )
            assert reply.status_code == 503
            assert reply.json()["error"]["code"] == "unavailable"
            async with server.http() as http:
                sent = await http.post(
                    "/ws/send",
                    json={"to_user_id": str(bob.id), "data": {"i": 1}},
                    headers={"X-API-Key": API_KEY},
                )
            assert sent.status_code == 200
            assert sent.json()["stored"] is False
        finally:
            await _pg_ctl(cluster, "start")
        while (await _health(server))[0] != 200:  # noqa: ASYNC110 - polling the server
            await trio.sleep(0.2)
        async with server.connect(alice) as a:
            await send_stored(a, bob, 1)
