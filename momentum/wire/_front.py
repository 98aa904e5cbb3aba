"""The front listener: one port, two kinds of traffic (docs/architecture.md, "One port").

It accepts each TCP connection, reads the request head with a size limit and a deadline,
and hands the stream — the head bytes given back first — to the WebSocket handler when the
request is an upgrade on `/ws`, or to the HTTP handler (hypercorn) for everything else.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from ._head import HeadError, RequestHead, read_head
from ._prefixed import PrefixedStream

log = logging.getLogger("momentum.wire")

WebSocketHandler = Callable[[trio.SocketStream, RequestHead], Awaitable[None]]
HttpHandler = Callable[[PrefixedStream], Awaitable[None]]
#: Starts `fn` as a task named `name`, waiting while the place for it is being restarted;
#: False if it cannot (the server is stopping: the stream is then closed).
Spawn = Callable[[str, Callable[[], Awaitable[None]]], Awaitable[bool]]

#: accept() errors that mean "out of resources for now": wait and go on (as trio does).
_CAPACITY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_CAPACITY_PAUSE = 0.1


@dataclass(frozen=True, slots=True)
class FrontConfig:
    websocket_path: str
    head_limit: int
    head_timeout: float
    max_pending: int = 1024


class _HeadCount:
    """How many accepted connections are still reading their request head."""

    __slots__ = ("limit", "pending")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pending = 0

    def take(self) -> bool:
        if self.pending >= self.limit:
            return False
        self.pending += 1
        return True

    def release(self) -> None:
        self.pending -= 1


async def serve_front(
    listener: trio.SocketListener,
    *,
    config: FrontConfig,
    on_websocket: WebSocketHandler,
    on_http: HttpHandler,
    spawn: Spawn,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Accept forever; each connection runs as a task started by `spawn(name, fn)`.

    At most `config.max_pending` connections may be reading their request head at once: past
    that a new connection is closed at once, so that peers who connect and send nothing
    (slowloris) cannot hold every file descriptor for the head timeout.
    """
    task_status.started()
    serial = 0
    heads = _HeadCount(config.max_pending)
    while True:
        try:
            stream = await listener.accept()
        except OSError as exc:
            if exc.errno not in _CAPACITY_ERRNOS:
                raise
            log.error("accept() failed: %s; pausing %.1f s", exc, _CAPACITY_PAUSE)
            await trio.sleep(_CAPACITY_PAUSE)
            continue
        if not heads.take():
            log.warning("%d connections still sending their request head: dropped one", heads.limit)
            with trio.CancelScope(shield=True):
                await stream.aclose()
            continue
        serial += 1

        async def dispatch(stream: trio.SocketStream = stream) -> None:
            await _dispatch(stream, config, on_websocket, on_http, heads)

        if not await spawn(f"socket-{serial}", dispatch):
            heads.release()
            with trio.CancelScope(shield=True):
                await stream.aclose()


async def _dispatch(
    stream: trio.SocketStream,
    config: FrontConfig,
    on_websocket: WebSocketHandler,
    on_http: HttpHandler,
    heads: _HeadCount,
) -> None:
    try:
        head = await read_head(stream, limit=config.head_limit, timeout=config.head_timeout)
    except HeadError as exc:
        log.debug("dropped a connection: %s", exc)
        with trio.CancelScope(shield=True):
            await stream.aclose()
        return
    finally:
        heads.release()
    if head.upgrade_websocket and head.path == config.websocket_path:
        # The handler lives as long as the connection; this frame must not keep the head
        # (a couple of KiB per connection) alive after the handshake has used it.
        serving = on_websocket(stream, head)
        del head
        await serving
    else:
        await on_http(PrefixedStream(stream, head.raw))
