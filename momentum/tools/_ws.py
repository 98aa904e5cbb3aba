"""Opening WebSocket connections for the tools, with failures told apart; reconnect backoff;
envelopes in the connection's wire format (JSON text, or MessagePack binary frames)."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgpack
import orjson
import trio_websocket
from trio_websocket import WebSocketConnection

from ._http import ServerUnreachable, ToolError

CONNECT_TIMEOUT = 10.0
DISCONNECT_TIMEOUT = 2.0

#: Close codes after which reconnecting cannot help (4003: the user is disabled).
DO_NOT_RECONNECT = frozenset({4003})
#: `--format` values, and the subprotocol each offers (docs/protocol.md).
WIRE_FORMATS = {"json": "momentum", "msgpack": "momentum.msgpack"}


class HandshakeRefused(ToolError):
    """The server answered the upgrade with an HTTP error (docs/protocol.md)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"handshake refused: {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def retryable(self) -> bool:
        """429 (too many connections) and 503 (full, draining) may pass; 401/403 will not."""
        return self.status in (429, 503)


class ConnectTimeout(ServerUnreachable):
    """The TCP connection or the handshake did not finish in time."""


@asynccontextmanager
async def open_ws(
    url: str, *, connect_timeout: float = CONNECT_TIMEOUT, wire_format: str = "json"
) -> AsyncIterator[WebSocketConnection]:
    """A client connection to `url` talking `wire_format` (a key of `WIRE_FORMATS`), closed
    with 1000 on exit; ToolError when it cannot open, or when the server does not select
    the format's subprotocol."""
    subprotocol = WIRE_FORMATS[wire_format]
    try:
        async with trio_websocket.open_websocket_url(
            url,
            subprotocols=[subprotocol],
            connect_timeout=connect_timeout,
            disconnect_timeout=DISCONNECT_TIMEOUT,
        ) as ws:
            if ws.subprotocol != subprotocol:
                raise ToolError(f"the server does not speak {wire_format} (no {subprotocol})")
            yield ws
    except trio_websocket.ConnectionRejected as exc:
        raise refusal(exc) from None
    except trio_websocket.ConnectionTimeout:
        raise ConnectTimeout(f"no WebSocket handshake within {connect_timeout:g} s") from None
    except trio_websocket.HandshakeError as exc:
        raise ServerUnreachable(f"cannot connect to {_where(url)}: {_reason(exc)}") from None


def _where(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


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


def refusal(exc: trio_websocket.ConnectionRejected) -> HandshakeRefused:
    try:
        error = json.loads(exc.body or b"")["error"]
        return HandshakeRefused(exc.status_code, str(error["code"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        return HandshakeRefused(exc.status_code, "http_error", "no JSON error body")


def encode(ws: WebSocketConnection, envelope: dict[str, Any]) -> str | bytes:
    """An envelope as a frame of the connection's format."""
    if ws.subprotocol == WIRE_FORMATS["msgpack"]:
        packed: bytes = msgpack.packb(envelope)
        return packed
    return orjson.dumps(envelope).decode()


def decode(frame: str | bytes) -> Any:
    """A frame from the server: MessagePack if binary, else JSON."""
    return msgpack.unpackb(frame) if isinstance(frame, bytes) else orjson.loads(frame)


def close_code(ws: WebSocketConnection) -> int | None:
    reason = ws.closed
    return reason.code if reason is not None else None


def backoff_delay(
    attempt: int,
    *,
    base: float = 0.5,
    cap: float = 30.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before reconnect `attempt` (0, 1, 2…): exponential, capped, jittered.

    "Equal jitter": half of `min(cap, base * 2**attempt)` is fixed, the other half random, so
    clients that lost the same server do not all come back in the same instant, and none
    retries sooner than half the schedule.
    """
    ceiling: float = min(cap, base * 2.0 ** min(attempt, 32))
    jitter: float = (rng or random).uniform(0, ceiling / 2)
    return ceiling / 2 + jitter
