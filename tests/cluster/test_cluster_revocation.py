"""Revoking tokens in a cluster: a logout or a password change on one node closes the
connections of the revoked tokens on every node, and every node refuses them afterwards.

Rules: as tests/cluster/test_cluster.py — real server processes on 127.0.0.1 sharing a
private redis-server and a PostgreSQL schema of the test's own, real HTTP and WebSocket
clients, the real clock, every test under `trio.fail_after`.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
import trio
import trio_websocket

from tests._private_redis import PrivateRedis

from ._nodes import Node, User, connect, open_cluster

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

PASSWORD = "correct horse battery"


async def refused_code(node: Node, token: str) -> str:
    try:
        async with trio_websocket.open_websocket_url(node.ws_url(token)):
            pass
    except trio_websocket.ConnectionRejected as rejected:
        assert rejected.status_code == 401
        return str(httpx.Response(401, content=rejected.body).json()["error"]["code"])
    raise AssertionError("the handshake was accepted")


async def sign_up(http: httpx.AsyncClient, node: Node) -> tuple[User, str]:
    name = f"r{uuid.uuid4().hex[:10]}"
    body = {"email": f"{name}@example.test", "username": name, "password": PASSWORD}
    assert (await http.post(node.http + "/auth/register", json=body)).status_code == 201
    reply = await http.post(node.http + "/auth/login", json={"login": name, "password": PASSWORD})
    session = reply.json()
    return User(uuid.UUID(session["user"]["id"]), session["token"]), session["refresh_token"]


async def test_logout_on_one_node_closes_the_token_on_every_node(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(60):
        async with open_cluster(private_redis.url, database_url, tmp_path, 3) as cluster:
            one, two, three = cluster.nodes
            async with httpx.AsyncClient() as http:
                user, _ = await sign_up(http, one)
                async with connect(one, user) as c1, connect(two, user) as c2:
                    reply = await http.post(
                        three.http + "/auth/logout",
                        headers={"Authorization": f"Bearer {user.token}"},
                    )
                    assert reply.status_code == 204, reply.text
                    assert await c1.wait_closed() == 4001
                    assert await c2.wait_closed() == 4001
                for node in (one, two):
                    assert await refused_code(node, user.token) == "token_revoked"


async def test_a_password_change_on_one_node_revokes_on_every_node(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(60):
        async with open_cluster(private_redis.url, database_url, tmp_path, 2) as cluster:
            one, two = cluster.nodes
            async with httpx.AsyncClient() as http:
                user, refresh = await sign_up(http, one)
                async with connect(two, user) as client:
                    reply = await http.post(
                        one.http + "/auth/password",
                        headers={"Authorization": f"Bearer {user.token}"},
                        json={"current_password": PASSWORD, "new_password": "a new password!"},
                    )
                    assert reply.status_code == 200, reply.text
                    assert await client.wait_closed() == 4001
                fresh = User(user.id, reply.json()["token"])
                assert await refused_code(two, user.token) == "token_revoked"
                refreshed = await http.post(
                    two.http + "/auth/refresh", json={"refresh_token": refresh}
                )
                assert refreshed.status_code == 401
                async with connect(two, fresh) as client:  # the new session works everywhere
                    await client.send(message_type="ping", id=str(uuid.uuid4()))
                    assert (await client.receive_type("pong"))["message_type"] == "pong"
