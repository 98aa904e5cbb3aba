"""The heartbeat: server pings, pong deadlines, and the end of the token's life."""

from __future__ import annotations

import trio
import trio_websocket

from ..protocol import CloseCode
from ._handle import Handle


async def serve_heartbeat(
    handle: Handle,
    ws: trio_websocket.WebSocketConnection,
    *,
    ping_interval: float,
    pong_timeout: float,
    expires_at: float,
) -> None:
    """Ping every `ping_interval` (0: never) and expect a pong within `pong_timeout` (else
    4010); close with 4001 at `expires_at`, the token's expiry."""
    while True:
        next_ping = trio.current_time() + ping_interval if ping_interval else None
        wake = expires_at if next_ping is None else min(next_ping, expires_at)
        await trio.sleep_until(wake)
        if trio.current_time() >= expires_at:
            handle.close(CloseCode.TOKEN_EXPIRED, "token expired")
            return
        pinged = trio.current_time()
        with trio.move_on_after(pong_timeout) as waiting:
            try:
                await ws.ping()
            except trio_websocket.ConnectionClosed:
                return
        if waiting.cancelled_caught:
            if handle.stalled_since(pinged):  # we were the slow side: its pong may wait
                continue
            handle.close(CloseCode.STALE, "no pong within the timeout")
            return
        handle.last_activity = trio.current_time()
