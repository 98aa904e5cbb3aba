"""A user deleted from the shared store loses its connections on whichever node holds them.

Rules: as in test_cluster.py: real server processes over a private redis-server and a
PostgreSQL schema of the test's own, real clients, the real clock, every test under
`trio.fail_after`. The row is deleted with `psql`, behind the servers' backs.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
import pytest
import trio

from tests._private_redis import PrivateRedis

from ._nodes import API_KEY, Node, connect, create_users, get_json, open_cluster, until

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


async def run_sql(database_url: str, sql: str) -> None:
    parts = urlsplit(database_url)
    schema = parse_qs(parts.query)["search_path"][0]
    url = urlunsplit(parts._replace(query=f"options=-csearch_path%3D{schema}"))
    await trio.run_process(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql])


async def test_a_user_deleted_from_the_store_is_closed_4003_on_its_node(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(60):
        async with open_cluster(private_redis.url, database_url, tmp_path, 2) as cluster:
            one, two = cluster.nodes
            alice, bob = await create_users(one, 2)
            async with connect(two, alice) as a, connect(one, bob) as b:
                await run_sql(database_url, f"DELETE FROM users WHERE id = '{alice.id}'")
                async with httpx.AsyncClient() as http:  # asked on node one, swept by both
                    reply = await http.post(
                        one.http + "/ws/cleanup", headers={"X-API-Key": API_KEY}
                    )
                    assert reply.status_code == 200, reply.text
                assert await a.wait_closed(timeout=20) == 4003
                await b.send(message_type="ping", id="00000000-0000-4000-8000-000000000001")
                assert (await b.receive_type("pong"))["message_type"] == "pong"
                await until(lambda: _still_online(one, bob.id))


async def _still_online(node: Node, user_id: uuid.UUID) -> bool:
    online = await get_json(node, "/ws/online")
    return [u["id"] for u in online["users"]] == [str(user_id)]
