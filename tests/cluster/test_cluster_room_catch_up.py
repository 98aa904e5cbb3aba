"""A room's messages published while Redis is down reach the other node's subscribers once
Redis is back, from the store, in order and once each, without a later message to reveal
the gap.

Rules: as test_cluster.py — real server processes on free ports sharing a private
redis-server (killed and restarted by the test) and a PostgreSQL schema of the test's own,
real WebSocket clients, the real clock, every test under `trio.fail_after`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

import httpx
import pytest
import trio

from tests._private_redis import PrivateRedis

from ._nodes import Node, connect, create_users, open_cluster, until
from .test_cluster_rooms import collect, new_room, subscribe

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


async def dropped(node: Node) -> float:
    """The frames the node could not publish (its broker's counter in /metrics)."""
    async with httpx.AsyncClient() as http:
        lines = (await http.get(node.http + "/metrics")).text.splitlines()
    found = [line for line in lines if line.startswith("momentum_broker_dropped_total ")]
    return float(found[0].split()[1]) if found else 0.0


async def test_room_messages_published_during_a_redis_outage_are_caught_up(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(90):
        async with open_cluster(private_redis.url, database_url, tmp_path, 2) as cluster:
            one, two = cluster.nodes
            alice, bob = await create_users(one, 2)
            rooms = [await new_room(one, alice.id) for _ in range(2)]
            async with connect(one, alice) as a, connect(two, bob) as b:
                for room in rooms:
                    await subscribe(a, room)
                    await subscribe(b, room)
                await collect(a, 0, 2)
                await collect(b, 0, 2)
                await a.send(message_type="room_publish", data={"room_id": rooms[0], "data": {}})
                await collect(a, 1, 1)
                await collect(b, 1, 0)  # live over Redis
                await private_redis.kill()
                for n in range(10):  # stored on node one, never relayed to node two
                    body = {"room_id": rooms[n % 2], "data": {"n": n}}
                    await a.send(message_type="room_publish", data=body)
                await collect(a, 10, 10)
                await until(lambda: _at_least(dropped(one), 10))  # lost, not queued
                await private_redis.start()
                got, _ = await collect(b, 10, 0)  # no later publish: the catch-up reads them
                late = await b.texts_within(1)
            for room, first in ((rooms[0], 2), (rooms[1], 1)):
                offsets = [m["offset"] for m in got if m["room_id"] == room]
                assert offsets == list(range(first, first + 5))
            assert [m for m in late if "room_id" in m] == []  # nothing twice


async def _at_least(count: Awaitable[float], wanted: float) -> bool:
    return await count >= wanted
