"""The dashboard and `/ready` on a cluster: every node in the feed, the broker's state.

Rules: two real server processes over a private redis-server and a PostgreSQL schema of the
test's own (tests/cluster/_nodes.py); a real HTTP client keeping the dashboard's cookie and
real WebSocket clients; the real clock, waiting for a snapshot that shows what is expected;
an outer `trio.fail_after`.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio

from tests._private_redis import PrivateRedis
from tests.server._dashboard import snapshots, wait_snapshot

from ._nodes import API_KEY, connect, create_users, open_cluster

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

PASSWORD = "cluster dashboard passphrase"


async def test_the_feed_shows_every_node_and_the_broker(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(60):
        async with open_cluster(private_redis.url, database_url, tmp_path, 2) as cluster:
            one, two = cluster.nodes
            (alice,) = await create_users(one, 1)
            async with httpx.AsyncClient(base_url=one.http, timeout=10) as http:
                assert (await http.get("/ready")).json() == {"status": "ready"}
                account = {"email": "ops@example.test", "username": "ops", "password": PASSWORD}
                made = await http.post("/auth/register", json=account)
                admin_id = made.json()["user"]["id"]
                promote = {"is_admin": True}
                key = {"X-API-Key": API_KEY}
                assert (
                    await http.patch(f"/users/{admin_id}", json=promote, headers=key)
                ).is_success
                login = {"username": "ops", "password": PASSWORD}
                assert (await http.post("/dashboard/api/login", json=login)).is_success
                feed = snapshots(http)
                both = await wait_snapshot(feed, lambda s: len(s["nodes"]) == 2)
                assert both["broker"]["state"] == "up"
                (here,) = [n for n in both["nodes"] if n.get("this_node")]
                assert here["store"] == "ok" and here["host"]
                assert both["store"]["backend"] == "postgresql"
                async with connect(two, alice) as client:
                    seen = await wait_snapshot(feed, lambda s: s["connections"] == 1)
                    (other,) = [n for n in seen["nodes"] if not n.get("this_node")]
                    assert seen["users"] == 1
                    assert other["connections"] == 1
                    csrf = (await http.get("/dashboard/api/session")).json()["csrf"]
                    username = (await http.get("/dashboard/api/online")).json()["users"][0]
                    reply = await http.post(
                        "/dashboard/api/users/disconnect",
                        json={"username": username["username"]},
                        headers={"X-CSRF-Token": csrf},
                    )
                    assert reply.json()["closed_connections"] == 0  # none on this node
                    assert await client.wait_closed() == 4004  # the other node closed it
