"""The front listener: one port, two kinds of traffic (docs/architecture.md, "One port").

It accepts each TCP connection, reads the request head with a size limit and a deadline,
and hands the stream — the head bytes given back first — to the WebSocket handler when the
request is an upgrade on `/ws`, or to the HTTP handler (hypercorn) for everything else.
Before that it counts the connection against the limits of `_limits`: unfinished heads per
peer and in all, open WebSocket and HTTP connections per client address, HTTP in all.
"""

from __future__ import annotations

import contextlib
import errno
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import trio

from ._head import HeadError, RequestHead, read_head
from ._limits import ConnectionLimits, ConnectionTally, HeadTicket, PendingHeads, Refusal, Slot
from ._peer import TrustedProxies
from ._prefixed import PrefixedStream

log = logging.getLogger("momentum.wire")

WebSocketHandler = Callable[[trio.SocketStream, RequestHead], Awaitable[None]]
HttpHandler = Callable[[PrefixedStream], Awaitable[None]]
#: Starts `fn` as a task named `name`, waiting while the place for it is being restarted;
#: False if it cannot (the server is stopping: the stream is then closed).
Spawn = Callable[[str, Callable[[], Awaitable[None]]], Awaitable[bool]]
#: Told of every connection the front drops or refuses; returns the HTTP response to send
#: before closing (None: close without a word — a peer that sent no head gets no answer).
RefusalHandler = Callable[[Refusal], bytes | None]

#: accept() errors that mean "out of resources for now": wait and go on (as trio does).
_CAPACITY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_CAPACITY_PAUSE = 0.1


@dataclass(frozen=True, slots=True)
class FrontConfig:
    websocket_path: str
    head_limit: int
    head_timeout: float
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies)


class _Counts:
    """What the front counts; its tasks hold tickets and slots into it."""

    def __init__(self, config: FrontConfig) -> None:
        limits, proxies = config.limits, config.trusted_proxies
        self.heads = PendingHeads(limits, exempt=proxies.trusts)
        self.websockets = ConnectionTally(
            per_client=limits.websocket_per_ip,
            total=None,  # the hub's WS_MAX_CONNECTIONS, answered in the handshake
            over_client=Refusal.WEBSOCKET_PER_IP,
            over_total=Refusal.WEBSOCKET_PER_IP,
        )
        self.http = ConnectionTally(
            per_client=limits.http_per_ip,
            total=limits.http_total,
            over_client=Refusal.HTTP_PER_IP,
            over_total=Refusal.HTTP_FULL,
        )


async def serve_front(
    listener: trio.SocketListener,
    *,
    config: FrontConfig,
    on_websocket: WebSocketHandler,
    on_http: HttpHandler,
    spawn: Spawn,
    on_refused: RefusalHandler = lambda refusal: None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Accept forever; each connection runs as a task started by `spawn(name, fn)`.

    At most `limits.pending_heads` connections may be reading their request head at once,
    `limits.pending_heads_per_ip` from one peer: past either, the oldest of them is dropped
    to make room, so that peers who connect and send nothing (slowloris) cannot hold every
    file descriptor for the head timeout, nor keep anyone else out.
    """
    task_status.started()
    counts = _Counts(config)
    while True:
        try:
            stream = await listener.accept()
        except OSError as exc:
            if exc.errno not in _CAPACITY_ERRNOS:
                raise
            log.error("accept() failed: %s; pausing %.1f s", exc, _CAPACITY_PAUSE)
            await trio.sleep(_CAPACITY_PAUSE)
            continue
        ticket, dropped = counts.heads.admit(_peer(stream))
        if dropped is not None:
            log.debug("dropped the oldest unfinished request head (%s)", dropped.value)
            on_refused(dropped)

        async def dispatch(stream: trio.SocketStream = stream, ticket: HeadTicket = ticket) -> None:
            await _dispatch(stream, ticket, config, counts, on_websocket, on_http, on_refused)

        if not await spawn(f"socket-{ticket.serial}", dispatch):
            ticket.release()
            with trio.CancelScope(shield=True):
                await stream.aclose()


async def _dispatch(
    stream: trio.SocketStream,
    ticket: HeadTicket,
    config: FrontConfig,
    counts: _Counts,
    on_websocket: WebSocketHandler,
    on_http: HttpHandler,
    on_refused: RefusalHandler,
) -> None:
    head = await _read_head(stream, ticket, config)
    if head is None:
        return
    websocket = head.upgrade_websocket and head.path == config.websocket_path
    client = config.trusted_proxies.client_address(ticket.peer, _forwarded_for(head))
    slot = (counts.websockets if websocket else counts.http).take(client)
    if not isinstance(slot, Slot):
        await _refuse(stream, on_refused(slot), config.head_timeout)
        return
    try:
        if websocket:
            # The handler lives as long as the connection; this frame must not keep the
            # head (a couple of KiB per connection) alive after the handshake has used it.
            serving = on_websocket(stream, head)
            del head
            await serving
        else:
            await on_http(PrefixedStream(stream, head.raw))
    finally:
        slot.release()


async def _read_head(
    stream: trio.SocketStream, ticket: HeadTicket, config: FrontConfig
) -> RequestHead | None:
    """The request head, or None (the stream closed) if it is too large, too slow, or was
    dropped to make room for newer connections."""
    head = None
    try:
        with ticket.scope:
            head = await read_head(stream, limit=config.head_limit, timeout=config.head_timeout)
    except HeadError as exc:
        log.debug("dropped a connection: %s", exc)
    finally:
        ticket.release()
    if head is None:
        with trio.CancelScope(shield=True):
            await stream.aclose()
    return head


async def _refuse(stream: trio.SocketStream, answer: bytes | None, within: float) -> None:
    """Send `answer` (best effort, within `within` seconds), then close."""
    if answer:
        with trio.move_on_after(within):
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stream.send_all(answer)
    with trio.CancelScope(shield=True):
        await stream.aclose()


def _peer(stream: trio.SocketStream) -> str:
    try:
        address = stream.socket.getpeername()
    except OSError:  # already gone: any name will do, its head read fails at once
        return ""
    return str(address[0]) if isinstance(address, tuple) else str(address)


def _forwarded_for(head: RequestHead) -> str | None:
    values = [value for name, value in head.headers if name == b"x-forwarded-for"]
    return b",".join(values).decode("latin-1") if values else None
