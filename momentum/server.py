"""The root of the process: one nursery owning every service, and the shutdown order.

Supervision tree (docs/architecture.md draws it)::

    root (one-for-all, no restarts: a crash stops the process)
    ├── persistence  actor, permanent: batched writes of direct messages and acks
    ├── directory    actor, permanent: batched user lookups for handshakes
    ├── hub          actor, permanent
    ├── janitor      actor, permanent
    ├── connections  supervisor (one-for-one): one temporary child per accepted socket
    ├── http         the Quart app's lifespan (startup/shutdown run here, not by hypercorn)
    └── front        the listener: reads request heads, hands out `/ws` and HTTP

Shutdown (SIGTERM/SIGINT, or the test's trigger): stop accepting, close every WebSocket
with 1001, wait for them to drain up to `drain_timeout` and for the persistence actor to
write what it was handed, close idle HTTP keep-alives, then leave the root supervisor, which
stops the children in reverse order.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import wrap_app
from quart_trio import QuartTrio

from actors import (
    ActorError,
    ActorMain,
    ActorRef,
    ChildSpec,
    Restart,
    Strategy,
    Supervisor,
    actor_spec,
    open_mailbox,
    open_supervisor,
)

from .auth import PasswordHasher, TokenCodec
from .config import Settings
from .core import (
    Barrier,
    CloseAll,
    ConnectionConfig,
    ConnectionContext,
    Gatekeeper,
    GetStats,
    HubConfig,
    HubMsg,
    JanitorMsg,
    PersistenceMsg,
    Purge,
    serve_connection,
    serve_hub,
    serve_janitor,
    serve_persistence,
)
from .core.directory import DIRECTORY_MAILBOX, DirectoryMsg, Lookup, serve_directory
from .core.persistence import PERSIST_MAILBOX, Backlog
from .http import Services, create_app
from .observability import Metrics
from .storage import Store, User, open_store
from .transport import FrontConfig, ReplayStream, RequestHead, serve_front

log = logging.getLogger("momentum.server")

_DRAIN_POLL = 0.05
_CALL_TIMEOUT = 5.0


@dataclass(frozen=True)
class Running:
    """What `serve` reports once it listens: the bound port and the live services."""

    port: int
    services: Services


async def serve(
    settings: Settings,
    *,
    shutdown_trigger: Callable[[], Awaitable[object]],
    hasher: PasswordHasher | None = None,
    store: Store | None = None,
    task_status: trio.TaskStatus[Running] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run Momentum until `shutdown_trigger()` returns, then drain and stop.

    `store` replaces the one `settings.database_url` names (tests pass their own).
    """
    listener = await _listen(settings)
    async with listener:
        hasher = hasher or PasswordHasher()
        if store is not None:
            await _run(settings, listener, store, hasher, shutdown_trigger, task_status)
            return
        async with open_store(settings.database_url) as opened:
            await _run(settings, listener, opened, hasher, shutdown_trigger, task_status)


async def _run(
    settings: Settings,
    listener: trio.SocketListener,
    store: Store,
    hasher: PasswordHasher,
    shutdown_trigger: Callable[[], Awaitable[object]],
    task_status: trio.TaskStatus[Running],
) -> None:
    metrics = Metrics()
    codec = TokenCodec(settings.jwt_secret, ttl=settings.jwt_ttl, leeway=settings.jwt_leeway)
    hub_ref, hub_inbox = open_mailbox[HubMsg]("hub", settings.hub_mailbox)
    janitor_ref, janitor_inbox = open_mailbox[JanitorMsg]("janitor", 16)
    persistence_ref, persistence_inbox = open_mailbox[PersistenceMsg](
        "persistence", PERSIST_MAILBOX
    )
    directory_ref, directory_inbox = open_mailbox[DirectoryMsg]("directory", DIRECTORY_MAILBOX)
    backlog = Backlog(persistence_ref, high_water=PERSIST_MAILBOX // 2)
    state = _State()
    services = Services(
        settings, store, codec, hasher, hub_ref, janitor_ref, metrics, lambda: state.accepting
    )
    app = create_app(services)
    # Started in dependency order, each ready before the next; stopped in reverse, so the
    # persistence actor is the last to go and writes what the others handed it.
    children = [
        actor_spec("persistence", _persistence_main(store, backlog, metrics), persistence_inbox),
        actor_spec("directory", _directory_main(store, metrics), directory_inbox),
        actor_spec("hub", _hub_main(settings, metrics, hub_ref, persistence_ref), hub_inbox),
        actor_spec("janitor", _janitor_main(settings, hub_ref, store), janitor_inbox),
    ]
    async with open_supervisor("root", strategy=Strategy.ONE_FOR_ALL, max_restarts=0) as root:
        for spec in children:
            await root.start(spec)
        connections: Supervisor = await root.start(ChildSpec("connections", _serve_connections))
        await root.start(ChildSpec("http", partial(_serve_lifespan, app)))
        on_websocket, on_http = _handlers(
            settings, services, app, state, codec, persistence_ref, backlog, directory_ref
        )
        front = partial(
            serve_front,
            listener,
            config=FrontConfig(
                "/ws",
                settings.head_limit,
                settings.handshake_timeout,
                settings.max_pending_handshakes,
            ),
            on_websocket=on_websocket,
            on_http=on_http,
            spawn=lambda name, fn: connections.start_soon(
                ChildSpec(name, _ready_at_once(fn), Restart.TEMPORARY)
            ),
        )
        await root.start(ChildSpec("front", front))
        port = listener.socket.getsockname()[1]
        log.info(
            "Momentum listening on %s (ws://…:%d/ws), store: %s", settings.bind, port, store.backend
        )
        task_status.started(Running(port, services))
        await shutdown_trigger()
        await _drain(root, listener, hub_ref, persistence_ref, state, settings.drain_timeout)


def _persistence_main(
    store: Store, backlog: Backlog, metrics: Metrics
) -> ActorMain[PersistenceMsg]:
    return partial(
        serve_persistence, store=store, backlog=backlog, on_error=metrics.storage_errors.inc
    )


def _directory_main(store: Store, metrics: Metrics) -> ActorMain[DirectoryMsg]:
    return partial(serve_directory, store=store, on_error=metrics.storage_errors.inc)


def _hub_main(
    settings: Settings,
    metrics: Metrics,
    hub_ref: ActorRef[HubMsg],
    persistence_ref: ActorRef[PersistenceMsg],
) -> ActorMain[HubMsg]:
    config = HubConfig(
        max_connections=settings.max_connections,
        max_connections_per_user=settings.max_connections_per_user,
        presence_interval=settings.presence_interval,
        message_ttl=settings.message_ttl,
        observe_latency=metrics.observe_latency,
    )
    return partial(
        serve_hub,
        ref=hub_ref,
        persistence=persistence_ref,
        config=config,
        started_at=trio.current_time(),
    )


def _janitor_main(
    settings: Settings, hub_ref: ActorRef[HubMsg], store: Store
) -> ActorMain[JanitorMsg]:
    return partial(
        serve_janitor,
        hub=hub_ref,
        idle_timeout=settings.cleanup_interval,
        period=max(1.0, settings.cleanup_interval / 5),
        purge=Purge(store, settings.history_retention),
    )


class _State:
    """Mutable process state the handlers read: are we taking new connections?"""

    def __init__(self) -> None:
        self.accepting = True
        self.http_context = WorkerContext(None)


def _handlers(
    settings: Settings,
    services: Services,
    app: QuartTrio,
    state: _State,
    codec: TokenCodec,
    persistence: ActorRef[PersistenceMsg],
    backlog: Backlog,
    directory: ActorRef[DirectoryMsg],
) -> tuple[
    Callable[[trio.SocketStream, RequestHead], Awaitable[None]],
    Callable[[ReplayStream], Awaitable[None]],
]:
    async def lookup(user_id: uuid.UUID) -> User | None:
        found: User | None = await directory.call(
            lambda reply: Lookup(user_id, reply), timeout=_CALL_TIMEOUT
        )
        return found

    context = ConnectionContext(
        config=ConnectionConfig(
            max_message_size=settings.max_message_size,
            outbox_size=settings.outbox_size,
            send_timeout=settings.send_timeout,
            handshake_timeout=settings.handshake_timeout,
            close_timeout=settings.close_timeout,
            ping_interval=settings.ping_interval,
            pong_timeout=settings.pong_timeout,
            rate_limit=settings.rate_limit,
            rate_burst=settings.rate_burst,
        ),
        hub=services.hub,
        persistence=persistence,
        backlog=backlog,
        store=services.store,
        gatekeeper=Gatekeeper(codec, lookup, allowed_origins=settings.allowed_origins),
        wall_clock=codec.now,
        accepting=lambda: state.accepting,
        on_refused=services.metrics.handshake_refused,
        on_closed=services.metrics.connection_closed,
    )
    hconfig = HypercornConfig.from_mapping(
        {k: v for k, v in settings.hypercorn.items() if k not in {"bind", "workers"}}
    )
    asgi = wrap_app(app, hconfig.wsgi_max_body_size, "asgi")

    on_websocket = partial(serve_connection, ctx=context)

    async def on_http(stream: ReplayStream) -> None:
        server = TCPServer(asgi, hconfig, state.http_context, ConnectionState({}), stream)  # type: ignore[arg-type]
        await server.run()

    return on_websocket, on_http


async def _listen(settings: Settings) -> trio.SocketListener:
    host, port = settings.host_port
    listeners = await trio.open_tcp_listeners(port, host=host, backlog=1024)
    if len(listeners) > 1:
        for extra in listeners[1:]:
            await extra.aclose()
    return listeners[0]


def _ready_at_once(fn: Callable[[], Awaitable[object]]) -> Callable[..., Awaitable[None]]:
    """A child start for a task that is addressable from its first step (a socket's task)."""

    async def start(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await fn()

    return start


async def _serve_connections(*, task_status: trio.TaskStatus[Supervisor]) -> None:
    async with open_supervisor("connections", strategy=Strategy.ONE_FOR_ONE) as supervisor:
        task_status.started(supervisor)
        await trio.sleep_forever()


async def _serve_lifespan(app: QuartTrio, *, task_status: trio.TaskStatus[None]) -> None:
    """Run the Quart app's startup and shutdown ourselves (hypercorn's lifespan is bypassed)."""
    async with trio.open_nursery() as nursery:
        app.nursery = nursery
        await app.startup()
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await app.shutdown()


async def _drain(
    root: Supervisor,
    listener: trio.SocketListener,
    hub: ActorRef[HubMsg],
    persistence: ActorRef[PersistenceMsg],
    state: _State,
    within: float,
) -> None:
    log.info("shutting down: closing connections (up to %.0f s)", within)
    state.accepting = False
    await root.stop_child("front")
    await listener.aclose()  # new connections are refused now, not left in the backlog
    with trio.move_on_after(within):
        try:
            await hub.call(
                lambda r: CloseAll(1001, "server shutting down", r), timeout=_CALL_TIMEOUT
            )
            # The hub owns the count; asking it is simpler than a second signal path.
            while (await hub.call(GetStats, timeout=_CALL_TIMEOUT))["total_connections"]:  # noqa: ASYNC110
                await trio.sleep(_DRAIN_POLL)
            # every message handed over so far is written before the actors stop
            await persistence.call(lambda r: Barrier(reply=r), timeout=within)
        except ActorError as exc:
            log.warning("drain cut short: %s", exc)
    await state.http_context.terminated.set()
    log.info("stopped")
