"""What the root hands its listener: the actors' refs, whether the process still takes
connections, and the two handlers the front calls with each accepted socket (a WebSocket
upgrade goes to a connection actor, anything else to hypercorn)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import wrap_app
from quart_trio import QuartTrio

from actors import ActorError, ActorRef, Reply

from .auth import TokenCodec
from .cluster import ClusterNode
from .config import CALL_TIMEOUT, Settings
from .connection import (
    ConnectionConfig,
    ConnectionContext,
    Gatekeeper,
    HeartbeatMsg,
    serve_connection,
)
from .http import Services
from .hub import HubMsg
from .janitor import JanitorMsg
from .storage import (
    Backpressure,
    Lookup,
    LookupMsg,
    PendingCount,
    RoomWriting,
    StorageError,
    User,
    WriterMsg,
)
from .wire import PrefixedStream, RequestHead, close_when_idle

T = TypeVar("T")


@dataclass(frozen=True)
class Refs:
    """The actors' mailboxes: refs stay valid across restarts (the mailbox is the spec's)."""

    hub: ActorRef[HubMsg]
    writer: ActorRef[WriterMsg]
    lookup: ActorRef[LookupMsg]
    janitor: ActorRef[JanitorMsg]
    heartbeat: ActorRef[HeartbeatMsg]


class Lifecycle:
    """Whether the process takes new connections, and hypercorn's shared worker context."""

    def __init__(self) -> None:
        self.accepting = True
        self.http_context = WorkerContext(None)


def handlers(
    settings: Settings,
    services: Services,
    app: QuartTrio,
    lifecycle: Lifecycle,
    codec: TokenCodec,
    refs: Refs,
    backpressure: Backpressure,
    cluster: ClusterNode | None,
    room_writing: RoomWriting,
) -> tuple[
    Callable[[trio.SocketStream, RequestHead], Awaitable[None]],
    Callable[[PrefixedStream], Awaitable[None]],
]:
    async def lookup(user_id: uuid.UUID) -> User | None:
        return await _ask(refs.lookup, partial(Lookup, user_id))

    async def pending_count(user_id: uuid.UUID) -> int:
        return await _ask(refs.lookup, partial(PendingCount, user_id))

    context = ConnectionContext(
        config=ConnectionConfig(
            max_message_size=settings.max_message_size,
            outbox_size=settings.outbox_size,
            send_timeout=settings.send_timeout,
            handshake_timeout=settings.handshake_timeout,
            close_timeout=settings.close_timeout,
            rate_limit=settings.rate_limit,
            rate_burst=settings.rate_burst,
            max_connections_per_user=settings.max_connections_per_user,
            room_max_per_connection=settings.room_max_per_connection,
            presence_default=settings.presence == "on",
            room_publish_rate=settings.room_publish_rate,
            room_publish_burst=settings.room_publish_burst,
        ),
        hub=refs.hub,
        writer=refs.writer,
        heartbeat=refs.heartbeat,
        backpressure=backpressure,
        room_writing=room_writing,
        store=services.store,
        gatekeeper=Gatekeeper(
            codec,
            lookup,
            allowed_origins=settings.allowed_origins,
            revocations=services.revocations,
        ),
        wall_clock=codec.now,
        accepting=lambda: lifecycle.accepting,
        pending_count=pending_count,
        on_refused=services.metrics.handshake_refused,
        on_closed=services.metrics.connection_closed,
        on_error_sent=services.metrics.error_sent,
        leases=cluster.registry if cluster else None,
    )
    hconfig = HypercornConfig.from_mapping(
        {k: v for k, v in settings.hypercorn.items() if k not in {"bind", "workers"}}
    )
    asgi = wrap_app(app, hconfig.wsgi_max_body_size, "asgi")

    on_websocket = partial(serve_connection, ctx=context)

    # Every request is answered within 2 * CALL_TIMEOUT (the slowest, /ws/cleanup), so a
    # connection silent for longer than that and the keep-alive timeout is idle.
    idle = max(float(hconfig.keep_alive_timeout), 2 * CALL_TIMEOUT) + 1

    async def on_http(stream: PrefixedStream) -> None:
        server = TCPServer(asgi, hconfig, lifecycle.http_context, ConnectionState({}), stream)  # type: ignore[arg-type]
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(close_when_idle, stream, idle, nursery.cancel_scope)
                await server.run()
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await stream.aclose()

    return on_websocket, on_http


async def _ask(lookup: ActorRef[LookupMsg], build: Callable[[Reply[T]], LookupMsg]) -> T:
    """The lookup actor's answer; `StorageError` when it does not answer in time."""
    try:
        return await lookup.call(build, timeout=CALL_TIMEOUT)
    except ActorError as exc:
        raise StorageError(f"the user lookup did not answer: {exc}") from exc
