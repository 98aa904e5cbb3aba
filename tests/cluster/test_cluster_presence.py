"""Presence opt-in and the paged online list across a cluster.

Rules: as `test_cluster.py` (real server processes over a private redis-server and a
PostgreSQL schema of the test's own, the real clock, `trio.fail_after`). "No presence
frame" is checked with a ping round trip after another client has seen the frame.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import trio

from tests._private_redis import PrivateRedis

from ._nodes import Client, connect, create_users, get_json, open_cluster, until

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


async def _before_pong(client: Client) -> list[dict[str, Any]]:
    ping = str(uuid.uuid4())
    await client.send(message_type="ping", id=ping)
    seen = []
    while (message := await client.receive())["message_type"] != "pong" or message["id"] != ping:
        seen.append(message)
    return seen


async def test_presence_crosses_nodes_only_to_connections_that_want_it_and_pages_list_all(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(60):
        async with open_cluster(private_redis.url, database_url, tmp_path, 2) as cluster:
            one, two = cluster.nodes
            alice, watcher, quiet_user = await create_users(one, 3)
            async with (
                connect(two, watcher) as w,
                connect(two, quiet_user, "&presence=off") as q,
                connect(one, alice),
            ):
                while True:
                    joined = await w.receive_type("user_joined")
                    if str(alice.id) in {u["user_id"] for u in joined["data"]["users"]}:
                        break
                kinds = {m["message_type"] for m in await _before_pong(q)}
                assert not kinds & {"user_joined", "user_left"}

                async def all_three() -> Any:  # the other node: as of its heartbeat
                    page = await get_json(two, "/ws/online", limit=2)
                    return page if page["count"] == 3 else None

                first = await until(all_three)
                second = await get_json(two, "/ws/online", limit=2, cursor=first["next"])
            listed = [u["id"] for u in first["users"] + second["users"]]
            assert listed == sorted(str(u.id) for u in (alice, watcher, quiet_user))
            assert second["next"] is None
