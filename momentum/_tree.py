"""Pieces of the supervision tree that `server` assembles: the listening socket, where
accepted sockets are started, the Quart app's lifespan, and the tree's restart counts."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import trio
from quart_trio import QuartTrio

from actors import ActorError, ChildSpec, Restart, Strategy, Supervisor, open_supervisor

from .config import Settings
from .wire import ConnectionLimits, FrontConfig


class Tree:
    """The supervisors of this process, read for their restart counts."""

    def __init__(self) -> None:
        self.root: Supervisor | None = None
        self.hub_group: Supervisor | None = None  # the current run's

    def restarts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for supervisor in (self.root, self.hub_group):
            if supervisor is not None:
                for child in supervisor.statistics().children:
                    counts[child.name] = child.restarts
        return counts


class ConnectionsSlot:
    """Where the front starts each accepted socket: the connections supervisor of the hub
    group's current run (a new one after each restart of the group). While the group
    restarts, the front waits here: new connections queue in the listen backlog and are
    served by the fresh hub, instead of being dropped."""

    def __init__(self) -> None:
        self._supervisor: Supervisor | None = None
        self._ready = trio.Event()

    async def spawn(self, name: str, fn: Callable[[], Awaitable[None]]) -> bool:
        await self._ready.wait()
        assert self._supervisor is not None
        try:
            self._supervisor.start_soon(ChildSpec(name, _ready_at_once(fn), Restart.TEMPORARY))
        except ActorError:  # it is stopping
            return False
        return True

    async def serve_connections(self, *, task_status: trio.TaskStatus[None]) -> None:
        async with open_supervisor("connections", strategy=Strategy.ONE_FOR_ONE) as supervisor:
            self._supervisor = supervisor
            self._ready.set()
            try:
                task_status.started()
                await trio.sleep_forever()
            finally:
                self._supervisor, self._ready = None, trio.Event()


async def listen(settings: Settings, *, reuse_port: bool) -> trio.SocketListener:
    """The listening socket; with `reuse_port` (the workers of `--workers N`) it shares its
    address with the other workers (SO_REUSEPORT: the kernel spreads the connections)."""
    host, port = settings.host_port
    if reuse_port:
        found = await trio.socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, kind, proto, _, address = found[0]
        sock = trio.socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        await sock.bind(address)
        sock.listen(1024)
        return trio.SocketListener(sock)
    listeners = await trio.open_tcp_listeners(port, host=host, backlog=1024)
    if len(listeners) > 1:
        for extra in listeners[1:]:
            await extra.aclose()
    return listeners[0]


def front_config(settings: Settings, websocket_path: str) -> FrontConfig:
    """The front listener's head limits and connection limits."""
    limits = ConnectionLimits(
        pending_heads=settings.max_pending_handshakes,
        pending_heads_per_ip=settings.max_pending_heads_per_ip,
        websocket_per_ip=settings.max_connections_per_ip,
        http_per_ip=settings.http_max_connections_per_ip,
        http_total=settings.http_max_connections,
    )
    return FrontConfig(
        websocket_path,
        settings.head_limit,
        settings.handshake_timeout,
        limits,
        settings.trusted_proxies,
    )


def _ready_at_once(fn: Callable[[], Awaitable[object]]) -> Callable[..., Awaitable[None]]:
    """A child start for a task that is addressable from its first step (a socket's task)."""

    async def start(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await fn()

    return start


async def serve_lifespan(app: QuartTrio, *, task_status: trio.TaskStatus[None]) -> None:
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
