"""A real Momentum server on an ephemeral port, and ways to talk to it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import msgpack
import orjson
import trio
import trio_websocket

from momentum.auth import PasswordHasher
from momentum.config import Settings
from momentum.server import Running, serve
from momentum.storage import NewUser, Store, User

SECRET = "tests-secret-0123456789abcdef-0123456789"
API_KEY = "tests-api-key"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def settings_for(database_url: str, **overrides: Any) -> Settings:
    base = Settings(
        bind="127.0.0.1:0",
        jwt_secret=SECRET,
        database_url=database_url,
        api_key=API_KEY,
        presence_interval=0.05,
        drain_timeout=3.0,
        close_timeout=1.0,
    )
    return base.with_overrides(**overrides)


@dataclass
class LiveServer:
    running: Running

    @property
    def port(self) -> int:
        return self.running.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def store(self) -> Store:
        return self.running.services.store

    async def create_user(
        self, username: str | None = None, *, admin: bool = False, active: bool = True
    ) -> User:
        name = username or f"u{uuid.uuid4().hex[:10]}"
        new = NewUser(f"{name}@example.test", name, "!", is_admin=admin, is_active=active)
        return await self.store.create_user(new)

    def token(self, user: User) -> str:
        return self.running.services.codec.issue(user.id, user.email, user.username).token

    def ws_url(self, token: str | None) -> str:
        query = f"?token={token}" if token is not None else ""
        return f"ws://127.0.0.1:{self.port}/ws{query}"

    @asynccontextmanager
    async def connect(
        self,
        user: User | None = None,
        *,
        token: str | None = None,
        binary: bool = False,
        **kwargs: Any,
    ) -> AsyncIterator[Client]:
        """A client; `binary`: it offers `momentum.msgpack` and talks MessagePack."""
        token = token if token is not None else self.token(user) if user else None
        if binary:
            kwargs.setdefault("subprotocols", ["momentum.msgpack"])
        async with trio_websocket.open_websocket_url(self.ws_url(token), **kwargs) as ws:
            yield Client(ws, user, binary=ws.subprotocol == "momentum.msgpack")

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=10)

    async def stats(self) -> dict[str, Any]:
        async with self.http() as http:
            reply = await http.get("/ws/stats", headers={"X-API-Key": API_KEY})
            result: dict[str, Any] = reply.json()
            return result

    async def set_active(self, user: User, active: bool, *, admin: User) -> httpx.Response:
        """`PATCH /users/{id}` by `admin`: enable or disable `user`."""
        async with self.http() as http:
            return await http.patch(
                f"/users/{user.id}",
                json={"is_active": active},
                headers={"Authorization": f"Bearer {self.token(admin)}"},
            )

    async def wait_connections(self, count: int) -> None:
        """Wait until the hub counts `count` open connections."""
        while (await self.stats())["total_connections"] != count:  # noqa: ASYNC110
            await trio.sleep(0.01)


@dataclass
class Client:
    """A real trio-websocket client with envelope helpers: JSON in text frames, or with
    `binary` (subprotocol `momentum.msgpack`) MessagePack in binary frames, both ways."""

    ws: trio_websocket.WebSocketConnection
    user: User | None
    binary: bool = False

    async def send(self, **envelope: Any) -> None:
        if self.binary:
            await self.ws.send_message(msgpack.packb(envelope))
        else:
            await self.ws.send_message(orjson.dumps(envelope).decode())

    async def receive(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next envelope, which must come in this client's format."""
        with trio.fail_after(timeout):
            raw = await self.ws.get_message()
        assert isinstance(raw, bytes) == self.binary, f"a frame in the wrong format: {raw!r}"
        message: dict[str, Any] = msgpack.unpackb(raw) if self.binary else orjson.loads(raw)
        return message

    async def receive_type(self, *types: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next message of one of `types`, skipping others (presence, acks…)."""
        with trio.fail_after(timeout):
            while True:
                message = await self.receive(timeout=timeout)
                if message["message_type"] in types:
                    return message

    async def roundtrip(self) -> None:
        """A ping answered by a pong: the server processed everything sent before it."""
        ping_id = str(uuid.uuid4())
        await self.send(message_type="ping", id=ping_id)
        while True:
            message = await self.receive()
            if message["message_type"] == "pong" and message["id"] == ping_id:
                return

    async def wait_closed(self, timeout: float = 5.0) -> int | None:
        """Read until the server closes; return its close code."""
        with trio.fail_after(timeout):
            while True:
                try:
                    await self.ws.get_message()
                except trio_websocket.ConnectionClosed as closed:
                    return closed.reason.code if closed.reason else None


@asynccontextmanager
async def open_live_server(
    settings: Settings, *, store: Store | None = None
) -> AsyncIterator[LiveServer]:
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        running: Running = await nursery.start(
            lambda task_status: serve(
                settings,
                shutdown_trigger=stop.wait,
                hasher=FAST_HASHER,
                store=store,
                task_status=task_status,
            )
        )
        try:
            yield LiveServer(running)
        finally:
            stop.set()


# -- helpers for the handshake, bad-input and HTTP API tests -------------------------------------


def mint_token(
    user_id: uuid.UUID | str,
    *,
    algorithm: str = "HS256",
    key: str | None = SECRET,
    lifetime: float = 3600.0,
    **claims: Any,
) -> str:
    """A JWT made with pyjwt directly (not the server's codec): for tokens it must refuse.

    `claims` override or add claims; a claim given as None is left out of the token.
    """
    import time

    import jwt

    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": str(user_id),
        "email": "minted@example.test",
        "username": "minted",
        "iat": now,
        "exp": now + int(lifetime),
        "jti": uuid.uuid4().hex,
    }
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key, algorithm=algorithm)


@dataclass(frozen=True)
class Refusal:
    """A handshake the server refused before the upgrade."""

    status: int
    code: str
    message: str
    content_type: str | None


async def expect_refused(url: str, **kwargs: Any) -> Refusal:
    """Open `url` with trio-websocket, expecting `ConnectionRejected`; return what came back."""
    try:
        async with trio_websocket.open_websocket_url(url, **kwargs):
            pass
    except trio_websocket.ConnectionRejected as rejected:
        body = orjson.loads(rejected.body or b"null")
        headers = {name.lower(): value for name, value in rejected.headers}
        content_type = headers.get(b"content-type")
        error = body["error"]
        assert set(error) == {"code", "message"}, body
        return Refusal(
            rejected.status_code,
            error["code"],
            error["message"],
            content_type.decode() if content_type is not None else None,
        )
    raise AssertionError(f"the handshake to {url} was accepted")


async def assert_serves(server: LiveServer) -> None:
    """A fresh user can still connect and get a pong: the server is alive and well."""
    user = await server.create_user()
    async with server.connect(user) as client:
        await client.roundtrip()


@asynccontextmanager
async def custom_server(tmp_path: object, **overrides: Any) -> AsyncIterator[LiveServer]:
    """A live server with its own settings, on a fresh SQLite file in the `tmp_path` folder.

    Enter it in the test itself (not through a fixture that hands out a factory): the
    server's nursery must nest inside the task that opens it.
    """
    url = f"sqlite:///{tmp_path}/custom-{uuid.uuid4().hex[:8]}.db"
    async with open_live_server(settings_for(url, **overrides)) as live:
        yield live


async def received_until_roundtrip(client: Client) -> list[dict[str, Any]]:
    """Everything the server sent `client` before the pong to a fresh ping."""
    ping_id = str(uuid.uuid4())
    await client.send(message_type="ping", id=ping_id)
    seen: list[dict[str, Any]] = []
    while True:
        message = await client.receive()
        if message["message_type"] == "pong" and message["id"] == ping_id:
            return seen
        seen.append(message)


async def received_until(
    client: Client, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """What the server sent `client` until `done(seen)` holds, then everything before the
    pong to a fresh ping (a room publish is answered after its batch's commit: a round trip
    alone does not wait for it)."""
    seen: list[dict[str, Any]] = []
    while not done(seen):
        seen.append(await client.receive())
    return seen + await received_until_roundtrip(client)


def answered(refs: list[str], room_messages: int = 0) -> Callable[[list[dict[str, Any]]], bool]:
    """`done` for `received_until`: each of `refs` has its `ack` or `error`, and at least
    `room_messages` room messages came."""

    def done(seen: list[dict[str, Any]]) -> bool:
        answers = {m["data"].get("ref_id") for m in seen if m["message_type"] in ("ack", "error")}
        arrived = sum(1 for m in seen if "offset" in m and m["message_type"] != "ack")
        return set(refs) <= answers and arrived >= room_messages

    return done


async def texts_until_quiet(client: Client) -> list[dict[str, Any]]:
    """Every text message received before the pong to a fresh ping."""
    got = []
    ping = str(uuid.uuid4())
    await client.send(message_type="ping", id=ping)
    while True:
        message = await client.receive()
        if message["message_type"] == "text":
            got.append(message)
        elif message["message_type"] == "pong" and message["id"] == ping:
            return got
