"""The root of the process: the supervision tree, and the shutdown order.

Supervision tree (docs/architecture.md draws it and says why each strategy)::

    root (one-for-one; more than 3 restarts in 60 s stops the process)
    ├── writer       actor, permanent: batched writes of direct messages and acks
    ├── room-writer  actor, permanent: batched appends of room messages, with their offsets
    ├── lookup       actor, permanent: batched user lookups for handshakes
    ├── hub-group    supervisor, rest-for-one, permanent
    │   ├── hub          actor, permanent: registry, routing, presence
    │   ├── heartbeat    actor, permanent: pings, pong deadlines, token expiry of every connection
    │   └── connections  supervisor (one-for-one): one temporary child per accepted socket
    ├── janitor      actor, permanent
    ├── http         the Quart app's lifespan (startup/shutdown run here, not by hypercorn)
    └── front        the listener: reads request heads, hands out `/ws` and HTTP

A crash of the writer, the room writer, the lookup, the janitor or the front restarts that
child alone, on the same mailbox: nobody holding its ref notices more than a failed call.
The hub's state is the registry of every open connection, so a hub crash restarts the
connections with it (rest-for-one): each client is closed with 1012 and reconnects to a
fresh hub. The heartbeat's state is the list of connections it watches: its crash restarts
the connections.

Shutdown (SIGTERM/SIGINT, or the test's trigger): stop accepting, close every WebSocket
with 1001, wait for them to drain up to `drain_timeout` and for the writer to commit what it
was handed, close idle HTTP keep-alives, then leave the root supervisor, which stops the
children in reverse order.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial

import trio

from actors import (
    ActorError,
    ActorMain,
    ChildSpec,
    Mailbox,
    Strategy,
    Supervisor,
    actor_spec,
    open_mailbox,
    open_supervisor,
)

from ._handlers import Lifecycle, Refs, handlers
from ._mains import janitor_main, lookup_main, room_writer_child, writer_main
from ._refusals import refusal_answers
from ._tree import ConnectionsSlot, Tree, front_config, listen, serve_lifespan
from .auth import PasswordHasher, Revocations, TokenCodec
from .cluster import ClusterNode, open_cluster
from .config import CALL_TIMEOUT, Settings
from .connection import (
    HEARTBEAT_MAILBOX,
    HeartbeatMsg,
    serve_heartbeat,
)
from .http import Services, create_app, hash_queue, throttles
from .hub import CloseAll, GetStats, HubConfig, HubMsg, serve_hub
from .janitor import JanitorMsg
from .observability import Metrics, report_activity
from .storage import (
    LOOKUP_MAILBOX,
    WRITER_MAILBOX,
    Backpressure,
    Barrier,
    LookupMsg,
    RoomWriting,
    Store,
    WriterMsg,
    open_store,
)
from .wire import serve_front

log = logging.getLogger("momentum.server")

_DRAIN_POLL = 0.05
#: Restart intensity of the root and of the hub group: more crashes than this within the
#: period means something is broken for good, and the process stops.
MAX_RESTARTS = 3
RESTART_PERIOD = 60.0


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
    reuse_port: bool = False,
    task_status: trio.TaskStatus[Running] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run Momentum until `shutdown_trigger()` returns, then drain and stop.

    `store` replaces the one `settings.database_url` names (tests pass their own);
    `reuse_port` shares the address with the other workers of `--workers N`.
    """
    listener = await listen(settings, reuse_port=reuse_port)
    mailboxes = _open_mailboxes(settings)
    async with listener, AsyncExitStack() as stack:
        if store is None:
            store = await stack.enter_async_context(open_store(settings.database_url))
        revocations = Revocations(leeway=settings.jwt_leeway)
        revocations.load(await store.load_revoked(datetime.now(UTC)))
        cluster = None
        if settings.redis_url:
            cluster = await stack.enter_async_context(
                open_cluster(
                    settings.redis_url,
                    hub=mailboxes.refs.hub,
                    janitor=mailboxes.refs.janitor,
                    revocations=revocations,
                    node_ttl=settings.node_ttl,
                    presence_interval=settings.presence_interval,
                )
            )
        hasher = (hasher or PasswordHasher()).with_queue(hash_queue(settings))
        auth = _Auth(hasher, revocations)
        await _run(
            settings, listener, store, auth, shutdown_trigger, task_status, mailboxes, cluster
        )


@dataclass(frozen=True)
class _Auth:
    """How passwords are checked, and which tokens are revoked."""

    hasher: PasswordHasher
    revocations: Revocations


@dataclass(frozen=True)
class _Mailboxes:
    """The refs, and the inboxes the actors' specs own."""

    refs: Refs
    hub: Mailbox[HubMsg]
    janitor: Mailbox[JanitorMsg]
    writer: Mailbox[WriterMsg]
    lookup: Mailbox[LookupMsg]
    heartbeat: Mailbox[HeartbeatMsg]


def _activity_spec(settings: Settings, metrics: Metrics) -> list[ChildSpec[None]]:
    """The operator's summary line, every `LOG_SUMMARY_INTERVAL` (0: none)."""
    if not settings.log_summary_interval:
        return []
    report = partial(report_activity, metrics.activity, settings.log_summary_interval)
    return [ChildSpec("activity-log", report)]


def _open_mailboxes(settings: Settings) -> _Mailboxes:
    hub_ref, hub_inbox = open_mailbox[HubMsg]("hub", settings.hub_mailbox)
    janitor_ref, janitor_inbox = open_mailbox[JanitorMsg]("janitor", 16)
    writer_ref, writer_inbox = open_mailbox[WriterMsg]("writer", WRITER_MAILBOX)
    lookup_ref, lookup_inbox = open_mailbox[LookupMsg]("lookup", LOOKUP_MAILBOX)
    beat_ref, beat_inbox = open_mailbox[HeartbeatMsg]("heartbeat", HEARTBEAT_MAILBOX)
    refs = Refs(hub_ref, writer_ref, lookup_ref, janitor_ref, beat_ref)
    return _Mailboxes(refs, hub_inbox, janitor_inbox, writer_inbox, lookup_inbox, beat_inbox)


async def _run(
    settings: Settings,
    listener: trio.SocketListener,
    store: Store,
    auth: _Auth,
    shutdown_trigger: Callable[[], Awaitable[object]],
    task_status: trio.TaskStatus[Running],
    mailboxes: _Mailboxes,
    cluster: ClusterNode | None,
) -> None:
    metrics = Metrics()
    codec = TokenCodec(settings.jwt_secret, ttl=settings.jwt_ttl, leeway=settings.jwt_leeway)
    backpressure = Backpressure(mailboxes.refs.writer, high_water=WRITER_MAILBOX // 2)
    lifecycle = Lifecycle()
    tree = Tree()
    refs = mailboxes.refs
    services = Services(
        settings,
        store,
        codec,
        auth.hasher,
        refs.hub,
        refs.janitor,
        metrics,
        lambda: lifecycle.accepting,
        tree.restarts,
        throttles(settings),
        auth.revocations,
        cluster,
        lambda: refs.writer.statistics().depth,
    )
    app = create_app(services)
    slot = ConnectionsSlot()
    # Started in dependency order, each ready before the next; stopped in reverse, so the
    # writer is the last to go and commits what the others handed it.
    hub_group = partial(_serve_hub_group, settings, metrics, refs, mailboxes, slot, tree, cluster)
    writer = writer_main(settings, store, backpressure, metrics)
    room_writing, room_writer = room_writer_child(store, metrics)
    children = [
        actor_spec("writer", writer, mailboxes.writer),
        room_writer,
        actor_spec("lookup", lookup_main(store, metrics), mailboxes.lookup),
        *([cluster.broker_spec()] if cluster else []),
        ChildSpec("hub-group", hub_group),
        *([cluster.registry_spec(), cluster.roster_spec()] if cluster else []),
        actor_spec("janitor", janitor_main(settings, refs.hub, store), mailboxes.janitor),
        *_activity_spec(settings, metrics),
        ChildSpec("http", partial(serve_lifespan, app)),
    ]
    async with open_supervisor(
        "root", strategy=Strategy.ONE_FOR_ONE, max_restarts=MAX_RESTARTS, period=RESTART_PERIOD
    ) as root:
        tree.root = root
        for spec in children:
            await root.start(spec)
        on_websocket, on_http = handlers(
            settings, services, app, lifecycle, codec, refs, backpressure, cluster, room_writing
        )
        front = partial(
            serve_front,
            listener,
            config=front_config(settings, "/ws"),
            on_websocket=on_websocket,
            on_http=on_http,
            spawn=slot.spawn,
            on_refused=refusal_answers(metrics),
        )
        await root.start(ChildSpec("front", front))
        port = listener.socket.getsockname()[1]
        log.info(
            "Momentum listening on %s (ws://…:%d/ws), store: %s", settings.bind, port, store.backend
        )
        task_status.started(Running(port, services))
        await shutdown_trigger()
        await _drain(root, listener, refs, lifecycle, settings.drain_timeout, room_writing)


async def _serve_hub_group(
    settings: Settings,
    metrics: Metrics,
    refs: Refs,
    mailboxes: _Mailboxes,
    slot: ConnectionsSlot,
    tree: Tree,
    cluster: ClusterNode | None,
    *,
    task_status: trio.TaskStatus[None],
) -> None:
    """The hub, the heartbeat and the connections they hold: a crash of the hub restarts all
    three, a crash of the heartbeat restarts it and the connections (rest-for-one)."""
    config = HubConfig(
        max_connections=settings.max_connections,
        max_connections_per_user=settings.max_connections_per_user,
        presence_interval=settings.presence_interval,
        message_ttl=settings.message_ttl,
        observe_latency=metrics.observe_latency,
        observe_task=metrics.observe_hub_task,
        user_rate=settings.user_rate[0],
        user_burst=settings.user_rate[1],
    )
    if cluster is not None:
        config = replace(
            config, broker=cluster.broker, presence=cluster.registry, room_presence=cluster.roster
        )
    hub_main: ActorMain[HubMsg] = partial(
        serve_hub,
        ref=refs.hub,
        writer=refs.writer,
        config=config,
        started_at=trio.current_time(),
    )
    async with open_supervisor(
        "hub-group",
        strategy=Strategy.REST_FOR_ONE,
        max_restarts=MAX_RESTARTS,
        period=RESTART_PERIOD,
    ) as group:
        tree.hub_group = group
        await group.start(actor_spec("hub", hub_main, mailboxes.hub))
        heartbeat = partial(
            serve_heartbeat,
            ping_interval=settings.ping_interval,
            pong_timeout=settings.pong_timeout,
        )
        await group.start(actor_spec("heartbeat", heartbeat, mailboxes.heartbeat))
        await group.start(ChildSpec("connections", slot.serve_connections))
        task_status.started()
        await trio.sleep_forever()


async def _drain(
    root: Supervisor,
    listener: trio.SocketListener,
    refs: Refs,
    lifecycle: Lifecycle,
    within: float,
    room_writing: RoomWriting,
) -> None:
    log.info("shutting down: closing connections (up to %.0f s)", within)
    lifecycle.accepting = False
    await root.stop_child("front")
    await listener.aclose()  # new connections are refused now, not left in the backlog
    with trio.move_on_after(within):
        try:
            await refs.hub.call(
                lambda r: CloseAll(1001, "server shutting down", r), timeout=CALL_TIMEOUT
            )
            # The hub owns the count; asking it is simpler than a second signal path.
            while (await refs.hub.call(GetStats, timeout=CALL_TIMEOUT)).total_connections:  # noqa: ASYNC110
                await trio.sleep(_DRAIN_POLL)
            # every message handed over so far is written before the actors stop
            await refs.writer.call(lambda r: Barrier(reply=r), timeout=within)
            await room_writing.ref.call(lambda r: Barrier(reply=r), timeout=within)
        except ActorError as exc:
            log.warning("drain cut short: %s", exc)
    await lifecycle.http_context.terminated.set()
    log.info("stopped")
