"""Room access and presence across two real nodes: a revocation made through one node
reaches the subscribers of another; a user coming into or leaving a room on one node is
announced, once, to the room's subscribers on every node; `GET /rooms/<id>/online` on one
node lists the users subscribed on the other.

Rules: as test_cluster.py — real server processes on free ports sharing a private
redis-server and a PostgreSQL schema of the test's own, real WebSocket and HTTP clients,
the real clock (presence interval 0.2 s), every test under `trio.fail_after`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from momentum.auth import sign_room_grant
from tests._private_redis import PrivateRedis

from ._nodes import (
    SECRET,
    Client,
    Node,
    User,
    connect,
    create_users,
    get_json,
    open_cluster,
    until,
)
from .test_cluster_rooms import KEY, collect, new_room

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


async def call(node: Node, method: str, path: str, **kwargs: Any) -> None:
    async with httpx.AsyncClient() as http:
        reply = await http.request(method, node.http + path, headers=KEY, **kwargs)
        assert reply.status_code == 200, reply.text


@asynccontextmanager
async def in_room(node: Node, user: User, room_id: str, **data: Any) -> AsyncIterator[Client]:
    """A connection of `user` to `node`, subscribed to the room (its `ack` received)."""
    async with connect(node, user) as client:
        await client.send(message_type="room_subscribe", data={"room_id": room_id, **data})
        await collect(client, 0, 1)
        yield client


async def presence_of(client: Client, kind: str, user: uuid.UUID) -> dict[str, Any]:
    """The next `kind` frame that lists `user` (coalesced with others or not)."""
    while True:
        data: dict[str, Any] = (await client.receive_type(kind))["data"]
        if str(user) in {u["user_id"] for u in data["users"]}:
            return data


async def test_revocations_reach_subscribers_on_other_nodes(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(90):
        async with open_cluster(private_redis.url, database_url, tmp_path, 2) as cluster:
            one, two = cluster.nodes
            alice, bob, carol = await create_users(one, 3)
            room_id = await new_room(one, alice.id)
            await call(one, "PATCH", f"/rooms/{room_id}", json={"kind": "private"})
            await call(one, "PUT", f"/rooms/{room_id}/members/{bob.id}", json={})
            grant = sign_room_grant(SECRET, carol.id, [uuid.UUID(room_id)], int(time.time()) + 600)
            async with (
                in_room(two, bob, room_id) as b,
                in_room(two, carol, room_id, grant=grant) as c,
                in_room(one, alice, room_id) as a,
            ):
                await call(one, "DELETE", f"/rooms/{room_id}/members/{bob.id}")
                notice = await b.receive_type("room_unsubscribed")
                assert notice["data"] == {"room_id": room_id, "reason": "removed"}
                await call(one, "DELETE", f"/rooms/{room_id}")
                for client in (a, c):
                    notice = await client.receive_type("room_unsubscribed")
                    assert notice["data"] == {"room_id": room_id, "reason": "deleted"}


async def test_room_presence_is_announced_once_across_nodes(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(90):
        async with open_cluster(private_redis.url, database_url, tmp_path, 2) as cluster:
            one, two = cluster.nodes
            alice, bob = await create_users(one, 2)
            room_id = await new_room(one, alice.id)

            async def online_at_one() -> set[str]:
                body = await get_json(one, f"/rooms/{room_id}/online")
                return {u["user_id"] for u in body["users"]}

            async with in_room(one, alice, room_id) as a:
                async with in_room(two, bob, room_id):
                    joined = await presence_of(a, "room_member_joined", bob.id)
                    assert joined["room_id"] == room_id
                    await until(lambda: _equals(online_at_one, {str(alice.id), str(bob.id)}))
                    async with in_room(one, bob, room_id):
                        await trio.sleep(0.6)  # three presence intervals
                    # bob left node one but is still in the room on node two: no news
                    await trio.sleep(0.6)
                    news = [
                        m for m in await until_pong(a) if m["message_type"] == "room_member_left"
                    ]
                    assert news == []
                left = await presence_of(a, "room_member_left", bob.id)
                assert left["room_id"] == room_id
                await until(lambda: _equals(online_at_one, {str(alice.id)}))


async def until_pong(client: Client) -> list[dict[str, Any]]:
    """Everything the server sent `client` before the pong to a fresh ping."""
    ping_id = str(uuid.uuid4())
    await client.send(message_type="ping", id=ping_id)
    seen = []
    while (message := await client.receive())["id"] != ping_id:
        seen.append(message)
    return seen


async def _equals(check: Any, expected: set[str]) -> bool:
    found: set[str] = await check()
    return found == expected


async def test_a_node_that_stops_counts_its_users_out_of_their_rooms(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(90):
        async with open_cluster(private_redis.url, database_url, tmp_path, 2) as cluster:
            one, two = cluster.nodes
            alice, bob = await create_users(one, 2)
            room_id = await new_room(one, alice.id)
            async with in_room(one, alice, room_id) as a:
                async with in_room(two, bob, room_id):
                    await presence_of(a, "room_member_joined", bob.id)
                    await two.stop()
                    left = await presence_of(a, "room_member_left", bob.id)
                    assert left["room_id"] == room_id
                body = await get_json(one, f"/rooms/{room_id}/online")
                assert [u["user_id"] for u in body["users"]] == [str(alice.id)]
