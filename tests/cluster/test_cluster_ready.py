"""`GET /ready` with the broker down: a node stops being ready while Redis is gone, and is
ready again once it is back; and what a node logs of the others joining and leaving.

Rules: a real server process over a private redis-server of the test's own (killed with
SIGKILL and started again on the same port; the machine's Redis is never touched) and a
PostgreSQL schema of its own; a real HTTP client; the real clock, polling `/ready` until it
says what is expected; an outer `trio.fail_after`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests._private_redis import PrivateRedis

from ._nodes import open_cluster, until

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


async def wait_ready_says(http: httpx.AsyncClient, status: int) -> dict[str, Any]:
    """Poll `/ready` until it answers `status`; its body."""
    while True:
        reply = await http.get("/ready")
        if reply.status_code == status:
            body: dict[str, Any] = reply.json()
            return body
        await trio.sleep(0.1)


async def test_ready_goes_down_with_the_broker_and_comes_back(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(90):
        async with open_cluster(private_redis.url, database_url, tmp_path, 1) as cluster:
            (node,) = cluster.nodes
            async with httpx.AsyncClient(base_url=node.http, timeout=10) as http:
                assert await wait_ready_says(http, 200) == {"status": "ready"}
                await private_redis.kill()
                down = await wait_ready_says(http, 503)
                assert down == {"status": "not_ready", "problems": ["broker unreachable"]}
                await private_redis.start()
                assert await wait_ready_says(http, 200) == {"status": "ready"}
        log = node.log.read_text()
        assert "broker subscription lost" in log
        assert log.index("broker subscription lost") < log.index("broker subscription back")


async def test_a_node_logs_the_nodes_that_join_and_leave(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(60):
        async with open_cluster(private_redis.url, database_url, tmp_path, 1) as cluster:
            (first,) = cluster.nodes
            second = await cluster.start_node()
            (second_id,) = re.findall(r"cluster node (\S+) on", second.log.read_text())
            await until(logged(first.log, f"node {second_id} joined the cluster"))
            assert await second.stop() == 0
            await until(logged(first.log, f"node {second_id} left the cluster"))


def logged(log: Path, line: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return line in await trio.Path(log).read_text()

    return check
