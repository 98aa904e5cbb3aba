"""Opening raw WebSocket connections for the load tools (stress, benchmark), which count
every frame themselves; failures are told apart as the SDK tells them (`momentum.sdk`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio_websocket
from trio_websocket import WebSocketConnection

from ..sdk._errors import HandshakeRefused, ServerUnreachable
from ..sdk._socket import (
    CONNECT_TIMEOUT,
    DISCONNECT_TIMEOUT,
    ConnectTimeout,
    describe_failure,
    refusal,
)


@asynccontextmanager
async def open_ws(
    url: str, *, connect_timeout: float = CONNECT_TIMEOUT
) -> AsyncIterator[WebSocketConnection]:
    """A client connection to `url`, closed with 1000 on exit; ToolError when it cannot open."""
    try:
        async with trio_websocket.open_websocket_url(
            url, connect_timeout=connect_timeout, disconnect_timeout=DISCONNECT_TIMEOUT
        ) as ws:
            yield ws
    except trio_websocket.ConnectionRejected as exc:
        raise refusal(exc) from None
    except trio_websocket.ConnectionTimeout:
        raise ConnectTimeout(f"no WebSocket handshake within {connect_timeout:g} s") from None
    except trio_websocket.HandshakeError as exc:
        raise ServerUnreachable(describe_failure(url, exc)) from None


__all__ = ["ConnectTimeout", "HandshakeRefused", "open_ws"]
