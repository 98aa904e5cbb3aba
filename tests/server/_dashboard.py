"""Helpers for the dashboard tests: admins with passwords, a signed-in HTTP client, the feed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson

from momentum.storage import NewUser, User

from ._live import FAST_HASHER, LiveServer

PASSWORD = "dashboard passphrase"


async def create_with_password(
    server: LiveServer, *, admin: bool, password: str = PASSWORD
) -> User:
    name = f"{'admin' if admin else 'user'}{uuid.uuid4().hex[:8]}"
    password_hash = await FAST_HASHER.hash(password)
    return await server.store.create_user(
        NewUser(f"{name}@example.test", name, password_hash, is_admin=admin)
    )


@asynccontextmanager
async def signed_in(server: LiveServer, user: User) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client holding `user`'s dashboard cookie, with its CSRF header set."""
    async with server.http() as http:
        reply = await http.post(
            "/dashboard/api/login", json={"username": user.username, "password": PASSWORD}
        )
        assert reply.status_code == 200, reply.text
        session = (await http.get("/dashboard/api/session")).json()
        http.headers["X-CSRF-Token"] = session["csrf"]
        yield http


async def snapshots(http: httpx.AsyncClient) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """The feed's events, as (event name, data), until it ends."""
    async with http.stream("GET", "/dashboard/api/events", timeout=None) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        event = "message"
        async for line in reply.aiter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                yield event, orjson.loads(line.removeprefix("data: "))


async def wait_snapshot(
    feed: AsyncIterator[tuple[str, dict[str, Any]]], true: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The first snapshot for which `true` holds."""
    async for event, data in feed:
        if event == "snapshot" and true(data):
            return data
    raise AssertionError("the feed ended")
