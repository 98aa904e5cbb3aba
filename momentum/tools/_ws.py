"""Raw WebSocket connections for the load tools (stress, benchmark, probe), which count every
frame themselves: trio-websocket's connection as the SDK opens it, failures told apart the
same way (`HandshakeRefused`, `ConnectTimeout`, `ServerUnreachable`); and envelopes in the
connection's wire format (JSON text, or MessagePack binary frames)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgpack
import orjson
from trio_websocket import WebSocketConnection

from ..sdk._errors import HandshakeRefused
from ..sdk._socket import CONNECT_TIMEOUT, ConnectTimeout, open_trio_websocket
from ._http import ToolError

#: `--format` values, and the subprotocol each offers (docs/protocol.md).
WIRE_FORMATS = {"json": "momentum", "msgpack": "momentum.msgpack"}

__all__ = [
    "WIRE_FORMATS",
    "ConnectTimeout",
    "HandshakeRefused",
    "close_code",
    "decode",
    "encode",
    "open_ws",
]


@asynccontextmanager
async def open_ws(
    url: str, *, connect_timeout: float = CONNECT_TIMEOUT, wire_format: str = "json"
) -> AsyncIterator[WebSocketConnection]:
    """A client connection to `url` talking `wire_format` (a key of `WIRE_FORMATS`), closed
    with 1000 on exit; ToolError when the server does not select the format's subprotocol."""
    subprotocol = WIRE_FORMATS[wire_format]
    async with open_trio_websocket(url, [subprotocol], connect_timeout=connect_timeout) as ws:
        if ws.subprotocol != subprotocol:
            raise ToolError(f"the server does not speak {wire_format} (no {subprotocol})")
        yield ws


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
