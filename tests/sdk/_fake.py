"""A fake server for the SDK's unit tests: a connector whose sockets are memory channels.

Each connection attempt takes the next scripted outcome (an exception to raise, or None to
accept); an accepted socket is handed to the test, which plays the server: it reads the
client's frames and pushes envelopes, and closes with a code.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import trio

from momentum.sdk import Client, ClientOptions, Socket, SocketClosed, open_client

USER_ID = "44424995-8f92-42a2-a6f8-0635a432fccb"
BASE_URL = "http://fake.invalid"


def fake_token(sub: str = USER_ID, *, exp: float | None = None, tag: str = "") -> str:
    """An unsigned JWT with these claims (the SDK reads claims, the server checks them)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims: dict[str, Any] = {"sub": sub, "tag": tag}
    if exp is not None:
        claims["exp"] = int(exp)
    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


class FakeSocket:
    def __init__(self, offers: Sequence[str]) -> None:
        self.offers = list(offers)
        self._to_client_send, self._to_client = trio.open_memory_channel[str](100)
        self._from_client_send, self._from_client = trio.open_memory_channel[str](100)
        self.close_code: int | None = None
        self.close_reason = ""

    # -- the client's side (the Socket protocol) ----------------------------------------------

    async def send(self, text: str) -> None:
        try:
            await self._from_client_send.send(text)
        except trio.ClosedResourceError:
            raise SocketClosed(self.close_code, self.close_reason) from None

    async def receive(self) -> str | bytes:
        try:
            return await self._to_client.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise SocketClosed(self.close_code, self.close_reason) from None

    async def close(self, code: int, reason: str) -> None:
        self.server_close(code, reason)

    # -- the server's side (the test) -----------------------------------------------------------

    async def push(self, **envelope: Any) -> None:
        await self._to_client_send.send(json.dumps(envelope))

    async def push_raw(self, raw: str) -> None:
        await self._to_client_send.send(raw)

    async def frame(self) -> dict[str, Any]:
        """The next frame the client sent."""
        frame: dict[str, Any] = json.loads(await self._from_client.receive())
        return frame

    def server_close(self, code: int | None, reason: str = "") -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._to_client_send.close()
        self._from_client_send.close()


@dataclass
class FakeConnector:
    """Connection attempts: when (Trio time) and with which subprotocol offers."""

    outcomes: list[BaseException | None] = field(default_factory=list)
    attempts: list[tuple[float, list[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._accepted_send, self.accepted = trio.open_memory_channel[FakeSocket](10)

    @asynccontextmanager
    async def __call__(self, url: str, offers: Sequence[str]) -> AsyncIterator[Socket]:
        self.attempts.append((trio.current_time(), list(offers)))
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        socket = FakeSocket(offers)
        await self._accepted_send.send(socket)
        try:
            yield socket
        finally:
            socket.server_close(1000, "client closed")


def options_for(connector: FakeConnector, **overrides: Any) -> ClientOptions:
    base: dict[str, Any] = {
        "connector": connector,
        "clock": trio.current_time,
        "rng": random.Random(7),
    }
    return ClientOptions(**{**base, **overrides})


@asynccontextmanager
async def connected(**overrides: Any) -> AsyncIterator[tuple[Client, FakeSocket]]:
    """A client connected to a fresh fake server (its first socket), with these options."""
    connector = FakeConnector()
    async with open_client(BASE_URL, fake_token(), options_for(connector, **overrides)) as client:
        yield client, await connector.accepted.receive()
