"""Real Momentum processes forming a cluster, for the cluster tests.

Each node is `python -m momentum serve` on a free port of 127.0.0.1, sharing one private
redis-server and one PostgreSQL schema; nodes are stopped with SIGTERM (a clean leave) or
killed with SIGKILL (a crash).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import trio
import trio_websocket

from momentum.auth import TokenCodec
from tests._private_redis import free_port

SECRET = "cluster-test-secret-0123456789abcdef0123"
API_KEY = "cluster-test-api-key"
CODEC = TokenCodec(SECRET, ttl=3600, leeway=5)


@dataclass
class Node:
    port: int
    log: Path
    process: trio.Process | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, token: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws?token={token}"

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        with trio.CancelScope(shield=True), trio.move_on_after(20):
            return await self.process.wait()
        self.kill()
        return -9


@dataclass
class Cluster:
    redis_url: str
    database_url: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)

    def environment(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "JWT_SECRET": SECRET,
            "MOMENTUM_API_KEY": API_KEY,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CLUSTER_NODE_TTL": "3",
            "WS_PRESENCE_INTERVAL": "0.2",
            "WS_RATE_LIMIT": "0",
            "LOG_LEVEL": "INFO",
            **self.env,
            **extra,
        }

    async def start_node(self, *args: str, wait: bool = True, **extra: str) -> Node:
        """Start a node; with `wait`, until `/health` says it is healthy."""
        port = free_port()
        node = Node(port, self.workdir / f"node-{port}.log")
        with node.log.open("wb") as out:
            node.process = await trio.lowlevel.open_process(
                [sys.executable, "-m", "momentum", "serve", "--bind", f"127.0.0.1:{port}", *args],
                env=self.environment(**extra),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.nodes.append(node)
        if wait:
            await wait_healthy(node)
        return node

    async def start_workers(self, count: int) -> Node:
        """`momentum serve --workers count` on a free port: the parent is the node's process
        (its log has the workers' too); not waited for."""
        port = free_port()
        node = Node(port, self.workdir / f"workers-{port}.log")
        with node.log.open("wb") as out:
            node.process = await trio.lowlevel.open_process(
                [
                    sys.executable,
                    "-m",
                    "momentum",
                    "serve",
                    "--workers",
                    str(count),
                    "--bind",
                    f"127.0.0.1:{port}",
                ],
                env=self.environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return node

    async def stop_all(self) -> None:
        """SIGTERM (a clean leave, and coverage data written), SIGKILL past 15 s."""
        for node in self.nodes:
            if node.process is not None and node.process.returncode is None:
                node.process.send_signal(signal.SIGTERM)
        with trio.CancelScope(shield=True):
            with trio.move_on_after(15):
                for node in self.nodes:
                    if node.process is not None:
                        await node.process.wait()
            for node in self.nodes:
                node.kill()
                if node.process is not None:
                    await node.process.wait()


async def wait_healthy(node: Node, timeout: float = 60) -> None:
    """Until `/health` answers 200 (the broker subscribed, the store up). The wait ends as
    soon as it does; the generous limit is for a loaded machine, where starting a node (and
    a `--workers` parent's children) took over 20 s."""
    with trio.fail_after(timeout):
        async with httpx.AsyncClient() as http:
            while True:
                assert node.process is not None
                if node.process.returncode is not None:
                    raise AssertionError(node.log.read_text())
                try:
                    if (await http.get(node.http + "/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await trio.sleep(0.05)


@asynccontextmanager
async def open_cluster(
    redis_url: str, database_url: str, workdir: Path, count: int, **env: str
) -> AsyncIterator[Cluster]:
    cluster = Cluster(redis_url, database_url, workdir, dict(env))
    try:
        for _ in range(count):
            await cluster.start_node()
        yield cluster
    finally:
        await cluster.stop_all()


@dataclass
class User:
    id: uuid.UUID
    token: str


async def create_users(node: Node, count: int) -> list[User]:
    """Users made through the API (admin key), with tokens signed by the shared secret."""
    async with httpx.AsyncClient() as http:
        reply = await http.post(
            node.http + "/users/provision",
            headers={"X-API-Key": API_KEY},
            json={"count": count, "prefix": "cl"},
        )
        reply.raise_for_status()
        users = reply.json()["users"]
    return [User(uuid.UUID(u["id"]), u["token"]) for u in users]


class Client:
    def __init__(self, ws: trio_websocket.WebSocketConnection) -> None:
        self.ws = ws

    async def send(self, **envelope: Any) -> None:
        await self.ws.send_message(orjson.dumps(envelope).decode())

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        with trio.fail_after(timeout):
            message: dict[str, Any] = orjson.loads(await self.ws.get_message())
            return message

    async def receive_type(self, *types: str, timeout: float = 10) -> dict[str, Any]:
        with trio.fail_after(timeout):
            while True:
                message = await self.receive(timeout)
                if message["message_type"] in types:
                    return message

    async def texts_within(self, seconds: float) -> list[dict[str, Any]]:
        """Every text received during the next `seconds` (to count duplicates)."""
        got = []
        with trio.move_on_after(seconds):
            while True:
                message = await self.receive(seconds + 1)
                if message["message_type"] == "text":
                    got.append(message)
        return got

    async def wait_closed(self, timeout: float = 10) -> int | None:
        with trio.fail_after(timeout):
            while True:
                try:
                    await self.ws.get_message()
                except trio_websocket.ConnectionClosed as closed:
                    return closed.reason.code if closed.reason else None


@asynccontextmanager
async def connect(node: Node, user: User, query: str = "") -> AsyncIterator[Client]:
    """`query` is added to the URL (`&presence=off`)."""
    async with trio_websocket.open_websocket_url(node.ws_url(user.token) + query) as ws:
        yield Client(ws)


async def get_json(node: Node, path: str, **params: Any) -> Any:
    async with httpx.AsyncClient() as http:
        reply = await http.get(node.http + path, headers={"X-API-Key": API_KEY}, params=params)
        reply.raise_for_status()
        return reply.json()


async def until(check: Any, timeout: float = 15, step: float = 0.1) -> Any:
    """Poll `await check()` until it returns something truthy."""
    with trio.fail_after(timeout):
        while True:
            value = await check()
            if value:
                return value
            await trio.sleep(step)


def names(values: Sequence[dict[str, Any]]) -> list[str]:
    return sorted(str(v["id"]) for v in values)
