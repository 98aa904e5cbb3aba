"""The transport: one WebSocket as text frames in and out, with failures told apart.

The connection actor sees only `Socket` (and a `Connector` that opens one), so tests drive
it with a fake socket on memory channels; `open_websocket` is the real one, on
trio-websocket. Transport errors are translated here, at the edge: `SocketClosed` for a
connection that ended, `HandshakeRefused` and `ServerUnreachable` for one that never opened.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Literal, Protocol

import msgpack
import orjson
import trio_websocket

from ._errors import HandshakeRefused, ServerUnreachable

#: The wire formats, and the subprotocol that asks the server for each (docs/protocol.md).
WireFormatName = Literal["json", "msgpack"]
SUBPROTOCOLS: dict[WireFormatName, str] = {"json": "momentum", "msgpack": "momentum.msgpack"}

CONNECT_TIMEOUT = 10.0
DISCONNECT_TIMEOUT = 2.0
#: The server's largest frame (WS_MAX_MESSAGE_SIZE) with room to spare.
MAX_MESSAGE_SIZE = 1 << 20


class SocketClosed(Exception):
    """The connection ended: `code` is the close code (None when none was received)."""

    def __init__(self, code: int | None, reason: str | None) -> None:
        super().__init__(f"closed: {code} {reason or ''}".rstrip())
        self.code = code
        self.reason = reason or ""


class Socket(Protocol):
    async def send(self, text: str) -> None:
        """Write one text frame; `SocketClosed` if the connection is gone."""
        ...

    async def receive(self) -> str | bytes:
        """The next frame; `SocketClosed` once the connection ended."""
        ...

    async def close(self, code: int, reason: str) -> None:
        """Start the close handshake (returns once sent, or at once if already closed)."""
        ...


#: Opens a socket to a `ws://` URL offering these subprotocols; closes it on exit.
Connector = Callable[[str, Sequence[str]], AbstractAsyncContextManager[Socket]]


class _TrioSocket:
    """A trio-websocket connection as JSON text both ways: on a MessagePack connection (the
    server selected `momentum.msgpack`) each frame is translated here, at the edge."""

    def __init__(self, ws: trio_websocket.WebSocketConnection) -> None:
        self._ws = ws
        self._msgpack = ws.subprotocol == SUBPROTOCOLS["msgpack"]

    async def send(self, text: str) -> None:
        frame: str | bytes = msgpack.packb(orjson.loads(text)) if self._msgpack else text
        try:
            await self._ws.send_message(frame)
        except trio_websocket.ConnectionClosed as exc:
            raise _closed(exc) from None

    async def receive(self) -> str | bytes:
        try:
            frame = await self._ws.get_message()
        except trio_websocket.ConnectionClosed as exc:
            raise _closed(exc) from None
        if isinstance(frame, bytes) and self._msgpack:
            return orjson.dumps(msgpack.unpackb(frame)).decode()
        return frame

    async def close(self, code: int, reason: str) -> None:
        await self._ws.aclose(code, reason)


def _closed(exc: trio_websocket.ConnectionClosed) -> SocketClosed:
    reason = exc.reason
    return SocketClosed(reason.code if reason else None, reason.reason if reason else None)


@asynccontextmanager
async def open_websocket(
    url: str, subprotocols: Sequence[str] = (), *, connect_timeout: float = CONNECT_TIMEOUT
) -> AsyncIterator[Socket]:
    """A client connection to `url`, closed with 1000 on exit."""
    async with open_trio_websocket(url, subprotocols, connect_timeout=connect_timeout) as ws:
        yield _TrioSocket(ws)


@asynccontextmanager
async def open_trio_websocket(
    url: str, subprotocols: Sequence[str] = (), *, connect_timeout: float = CONNECT_TIMEOUT
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """trio-websocket's connection itself (for the load tools, which count every frame), with
    the failures to open translated; closed with 1000 on exit."""
    try:
        async with trio_websocket.open_websocket_url(
            url,
            subprotocols=list(subprotocols),
            connect_timeout=connect_timeout,
            disconnect_timeout=DISCONNECT_TIMEOUT,
            max_message_size=MAX_MESSAGE_SIZE,
        ) as ws:
            yield ws
    except trio_websocket.ConnectionRejected as exc:
        raise refusal(exc) from None
    except trio_websocket.ConnectionTimeout:
        raise ConnectTimeout(f"no WebSocket handshake within {connect_timeout:g} s") from None
    except trio_websocket.HandshakeError as exc:
        raise ServerUnreachable(describe_failure(url, exc)) from None


class ConnectTimeout(ServerUnreachable):
    """The TCP connection or the handshake did not finish in time."""


def refusal(exc: trio_websocket.ConnectionRejected) -> HandshakeRefused:
    try:
        error = json.loads(exc.body or b"")["error"]
        return HandshakeRefused(exc.status_code, str(error["code"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        return HandshakeRefused(exc.status_code, "http_error", "no JSON error body")


def describe_failure(url: str, exc: BaseException) -> str:
    where = url.split("://", 1)[-1].split("/", 1)[0]
    return f"cannot connect to {where}: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    """The most specific cause: trio's "all attempts failed" wraps each attempt's OSError."""
    reason = str(exc) or type(exc).__name__
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, BaseExceptionGroup):
            cause = cause.exceptions[0]
            continue
        if isinstance(cause, OSError) and cause.strerror:
            reason = cause.strerror
        cause = cause.__cause__
    return reason
