"""Rooms across two real nodes over Redis: one topic per room, every message once and in
order on every node, recovery on another node than the one first used.

Rules: as test_cluster.py — real server processes on free ports sharing a private
redis-server and a PostgreSQL schema of the test's own, real WebSocket and HTTP clients,
the real clock, every test under `trio.fail_after`.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests._private_redis import PrivateRedis

from ._nodes import API_KEY, Client, Node, connect, create_users, open_cluster

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

KEY = {"X-API-Key": API_KEY}


async def new_room(node: Node, owner: uuid.UUID) -> str:
    async with httpx.AsyncClient() as http:
        body = {"name": "cluster room", "owner_id": str(owner)}
        reply = await http.post(node.http + "/rooms", headers=KEY, json=body)
        assert reply.status_code == 201, reply.text
        room_id: str = reply.json()["room"]["id"]
        return room_id


async def subscribe(client: Client, room_id: str, offset: int | None = None) -> None:
    data: dict[str, Any] = {"room_id": room_id}
    if offset is not None:
        data["offset"] = offset
    await client.send(message_type="room_subscribe", data=data)


async def collect(client: Client, rooms: int, acks: int) -> tuple[list[dict[str, Any]], list[Any]]:
    """Room messages until `rooms` of them and `acks` acks have arrived."""
    got: list[dict[str, Any]] = []
    answers: list[Any] = []
    while len(got) < rooms or len(answers) < acks:
        message = await client.receive()
        if message["message_type"] == "ack":
            answers.append(message["data"])
        elif message["message_type"] == "error":
            raise AssertionError(message)
        elif "room_id" in message:
            got.append(message)
    return got, answers


async def test_room_messages_cross_nodes_once_and_in_order(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    per_publisher = 30
    with trio.fail_after(90):
        async with open_cluster(private_redis.url, database_url, tmp_path, 2) as cluster:
            one, two = cluster.nodes
            alice, bob = await create_users(one, 2)
            room_id = await new_room(two, alice.id)
            async with connect(one, alice) as a, connect(two, bob) as b:
                await subscribe(a, room_id)
                await subscribe(b, room_id)
                assert (await collect(a, 0, 1))[1][0]["rooms"][0]["offset"] == 0
                assert (await collect(b, 0, 1))[1][0]["rooms"][0]["offset"] == 0

                async def publish(client: Client, tag: str) -> None:
                    for n in range(per_publisher):
                        body = {"room_id": room_id, "data": {"by": tag, "n": n}}
                        await client.send(message_type="room_publish", data=body)

                async def publish_http(node: Node) -> None:
                    async with httpx.AsyncClient() as http:
                        for n in range(per_publisher):
                            reply = await http.post(
                                f"{node.http}/rooms/{room_id}/messages",
                                headers=KEY,
                                json={"data": {"by": "api", "n": n}},
                            )
                            assert reply.status_code == 201, reply.text

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(publish, a, "a")
                    nursery.start_soon(publish, b, "b")
                    nursery.start_soon(publish_http, two)
                total = 3 * per_publisher
                got_a, _ = await collect(a, total, per_publisher)
                got_b, _ = await collect(b, total, per_publisher)
            for got in (got_a, got_b):
                assert [m["offset"] for m in got] == list(range(1, total + 1))
            assert [m["id"] for m in got_a] == [m["id"] for m in got_b]
            for tag in ("a", "b", "api"):  # each publisher's messages in its own order
                ns = [m["data"]["n"] for m in got_a if m["data"]["by"] == tag]
                assert ns == list(range(per_publisher))


async def test_a_subscriber_recovers_on_another_node(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(90):
        async with open_cluster(private_redis.url, database_url, tmp_path, 2) as cluster:
            one, two = cluster.nodes
            alice, bob = await create_users(one, 2)
            room_id = await new_room(one, alice.id)
            async with connect(two, bob) as b:
                await subscribe(b, room_id)
                await collect(b, 0, 1)
                async with connect(one, alice) as a:
                    await subscribe(a, room_id)
                    await collect(a, 0, 1)
                    for n in range(3):
                        body = {"room_id": room_id, "data": {"n": n}}
                        await a.send(message_type="room_publish", data=body)
                    await collect(a, 3, 3)
                seen, _ = await collect(b, 3, 0)
            async with connect(one, alice) as a:
                await subscribe(a, room_id)
                await collect(a, 0, 1)
                for n in range(3, 6):
                    await a.send(
                        message_type="room_publish", data={"room_id": room_id, "data": {"n": n}}
                    )
                await collect(a, 3, 3)
            async with connect(one, bob) as b:
                await subscribe(b, room_id, offset=seen[-1]["offset"])
                missed, answers = await collect(b, 3, 1)
            assert [m["offset"] for m in seen + missed] == [1, 2, 3, 4, 5, 6]
            assert answers[0]["rooms"] == [{"room_id": room_id, "offset": 6, "recovered": True}]
