"""`momentum serve --workers N` without JWT_SECRET: one secret for every worker.

Rules: real processes (`python -m momentum serve --workers 2`) on a free port of 127.0.0.1,
a private redis-server and a PostgreSQL schema (skipped without MOMENTUM_TEST_REDIS_URL and
MOMENTUM_TEST_POSTGRES_URL); real clock, an outer `trio.fail_after`.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import trio

from tests._private_redis import PrivateRedis

from ._nodes import create_users, open_cluster, wait_healthy

#: Fresh connections, each landing on either worker (SO_REUSEPORT spreads them): with a
#: secret per worker, all of them succeeding would have a chance of 2 in 2**24.
REQUESTS = 24


async def test_workers_without_jwt_secret_accept_each_others_tokens(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(90):
        async with open_cluster(
            private_redis.url, database_url, tmp_path, 0, JWT_SECRET=""
        ) as cluster:
            node = await cluster.start_workers(2)
            try:
                await wait_healthy(node)
                (user,) = await create_users(node, 1)
                statuses = []
                for _ in range(REQUESTS):
                    async with httpx.AsyncClient() as http:  # a new connection each time
                        reply = await http.get(
                            node.http + "/ws/online",
                            headers={"Authorization": f"Bearer {user.token}"},
                        )
                        statuses.append(reply.status_code)
                assert statuses == [200] * REQUESTS, statuses
            finally:
                cluster.nodes.append(node)  # stopped with the cluster: SIGTERM, then SIGKILL
            warnings = node.log.read_text().count("JWT_SECRET is not set")
            assert warnings == 1, node.log.read_text()
