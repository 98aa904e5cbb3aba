"""The connection actor: one per WebSocket, a temporary child of the connections supervisor.

Its life (docs/architecture.md has the diagram):

1. handshake — trio-websocket parses the upgrade from the request head (given back by the
   `WireStream`); the gatekeeper checks token, user and Origin; the hub reserves a slot
   (limits); then accept, or reject with an HTTP status and a JSON body;
2. serve — a reader (frames → validation → hub), the replay of stored messages and, when
   bytes wait for the socket, the wire's writer run in the actor's nursery; the heartbeat
   actor (one for every connection) pings it and ends it at its token's expiry; the hub
   hands it frames through its `Handle`;
3. close — whoever ends it (peer, hub, janitor, heartbeat, shutdown) records a close code on
   the handle and cancels the serve scope; the actor then runs the close handshake under a
   deadline and tells the hub it left. This runs however the actor ends, crash included.

Supervision: one-for-one, temporary — a crash is logged with the connection's name by the
supervisor and never touches another connection. Stopped from outside, it closes with the
code it was asked for (1012 from a crashing hub, whose restart takes the connections with
it), else 1001: the client reconnects either way.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import orjson
import trio
import trio_websocket
from wsproto.connection import ConnectionState as WsState

from actors import ActorError, ActorRef, MailboxFull

from ..config import CALL_TIMEOUT
from ..hub import HubMsg, Join, Leave, Refused, Release, ReplayGate, Reserve
from ..protocol import CloseCode, ErrorCode, close_frame, utc_timestamp
from ..storage import Backpressure, Store, WriterMsg
from ..wire import RequestHead, WireStream
from ._admission import Admitted, Gatekeeper
from ._handle import Handle
from ._heartbeat import Forget, HeartbeatMsg, Watch
from ._links import ReaderLinks
from ._ratelimit import TokenBucket
from ._reader import charge, read_frames
from ._reauth import Reauth
from ._replay import catch_up, replay_then_go_live
from ._room_recovery import fill_room_gap
from ._upgraded import forget_handshake
from ._websocket import ChargedConnection, wrap_server_stream

log = logging.getLogger("momentum.connection")

_ids = itertools.count(1)
_SILENT_CLOSES = frozenset({1002, 1007})
_REJECT_HEADERS = [(b"Content-Type", b"application/json"), (b"Connection", b"close")]


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    max_message_size: int
    outbox_size: int
    send_timeout: float
    handshake_timeout: float
    close_timeout: float
    rate_limit: float  # messages per second; 0 disables
    rate_burst: int
    max_connections_per_user: int = 10
    room_max_per_connection: int = 128


class Leases(Protocol):
    """Connection leases across a cluster (the per-user limit); Redis errors propagate."""

    async def acquire_lease(self, user_id: uuid.UUID, limit: int) -> str | None:
        """A lease, or None when the user already holds `limit` connections."""
        ...

    def release_lease(self, user_id: uuid.UUID, lease: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ConnectionContext:
    """What every connection actor shares."""

    config: ConnectionConfig
    hub: ActorRef[HubMsg]
    writer: ActorRef[WriterMsg]
    heartbeat: ActorRef[HeartbeatMsg]
    backpressure: Backpressure
    store: Store
    gatekeeper: Gatekeeper
    wall_clock: Callable[[], float]
    accepting: Callable[[], bool]
    on_refused: Callable[[str], None] = lambda code: None
    on_closed: Callable[[int], None] = lambda code: None
    leases: Leases | None = None  # a cluster's; None: the hub's per-node limit is the limit


async def serve_connection(
    stream: trio.SocketStream, head: RequestHead, *, ctx: ConnectionContext
) -> None:
    """Run one WebSocket connection from its upgrade request to its closed socket."""
    wire = WireStream(stream, head.raw, max_frames=ctx.config.outbox_size)
    try:
        async with trio.open_nursery() as nursery:
            wire.write_on_demand(nursery.start_soon, send_deadline=ctx.config.send_timeout)
            handle, ws, expires_at, gate = await _handshake(nursery, wire, head, ctx)
            del head  # not needed past the handshake; the connection may live for days
            if handle is not None and ws is not None:
                serving = _serve(handle, ws, ctx, expires_at, gate)
                del gate  # the replay's alone (two Events), gone once the replay is done
                await serving
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await wire.aclose()


async def _handshake(
    nursery: trio.Nursery, wire: WireStream, head: RequestHead, ctx: ConnectionContext
) -> tuple[Handle | None, trio_websocket.WebSocketConnection | None, float, ReplayGate]:
    """Upgrade or refuse; on success the connection is registered with the hub."""
    config = ctx.config
    gate = ReplayGate()
    with trio.move_on_after(config.handshake_timeout):
        request = await wrap_server_stream(nursery, wire, max_message_size=config.max_message_size)
        verdict, reservation, lease = await _admit(head, ctx)
        if isinstance(verdict, Refused):
            ctx.on_refused(verdict.code.value)
            body = orjson.dumps({"error": {"code": verdict.code.value, "message": verdict.message}})
            await request.reject(verdict.status, extra_headers=list(_REJECT_HEADERS), body=body)
            return None, None, 0.0, gate
        user = verdict.user
        try:
            ws = await request.accept(subprotocol=verdict.subprotocol)
        except BaseException:
            with contextlib.suppress(ActorError):  # else the reservation expires by itself
                ctx.hub.cast_nowait(Release(reservation))
            if lease is not None and ctx.leases is not None:
                ctx.leases.release_lease(user.id, lease)
            raise
        forget_handshake(ws)
        handle = Handle(
            next(_ids),
            user.id,
            user.username,
            wire,
            connected_at=utc_timestamp(),
            now=trio.current_time(),
            token_id=verdict.claims.jti,
            token_issued_ms=verdict.claims.issued_ms,
            token_session=verdict.claims.session,
        )
        handle.lease = lease
        wire.last_words = partial(_owed_close, ws, handle)
        await ctx.hub.cast(Join(handle, reservation, gate))
        # Revoked while the handshake ran: the hub's RevokeTokens came before this Join, and
        # the revocation was recorded before that message was sent.
        if ctx.gatekeeper.revoked(verdict.claims):
            handle.close(CloseCode.TOKEN_EXPIRED, "token revoked")
        # The connection ends at `exp` (the leeway only absorbs clock skew when a token is
        # checked); a token accepted inside its leeway is closed at once.
        expires_at = trio.current_time() + (verdict.claims.exp - ctx.wall_clock())
        return handle, ws, expires_at, gate
    ctx.on_refused("handshake_timeout")
    return None, None, 0.0, gate


async def _admit(
    head: RequestHead, ctx: ConnectionContext
) -> tuple[Admitted | Refused, int, str | None]:
    """Credentials and Origin (the gatekeeper), then a slot (the hub), then in a cluster a
    lease: the reservation and the lease."""
    if not ctx.accepting():
        return Refused(503, ErrorCode.SHUTTING_DOWN, "the server is shutting down"), 0, None
    verdict = await ctx.gatekeeper.admit(head.target, list(head.headers))
    if isinstance(verdict, Refused):
        return verdict, 0, None
    try:
        answer: Refused | int = await ctx.hub.call(
            lambda reply: Reserve(verdict.user.id, reply), timeout=CALL_TIMEOUT
        )
    except ActorError:
        busy = Refused(503, ErrorCode.UNAVAILABLE, "the server is too busy to take connections")
        return busy, 0, None
    if not isinstance(answer, int):
        return answer, 0, None
    if ctx.leases is None:
        return verdict, answer, None
    limit = ctx.config.max_connections_per_user
    try:
        lease = await ctx.leases.acquire_lease(verdict.user.id, limit)
    except Exception as exc:  # Redis down: admitted, the per-node limit still holds
        log.warning("no connection lease (per-node limit only): %r", exc)
        return verdict, answer, None
    if lease is None:
        with contextlib.suppress(ActorError):
            ctx.hub.cast_nowait(Release(answer))
        message = f"at most {limit} connections per user, across the cluster"
        return Refused(429, ErrorCode.TOO_MANY_CONNECTIONS, message), 0, None
    return verdict, answer, lease


async def _serve(
    handle: Handle,
    ws: trio_websocket.WebSocketConnection,
    ctx: ConnectionContext,
    expires_at: float,
    gate: ReplayGate,
) -> None:
    """Reader and the replay of stored messages, watched by the heartbeat, until someone
    closes; then the close handshake; then leave."""
    config = ctx.config
    graceful = True
    links = ReaderLinks(
        ctx.hub,
        ctx.writer,
        ctx.backpressure,
        config.max_message_size,
        ctx.store,
        config.room_max_per_connection,
        Reauth(ctx.gatekeeper, ctx.heartbeat, ctx.wall_clock),
    )
    bucket = TokenBucket(config.rate_limit, config.rate_burst, now=trio.current_time())
    if isinstance(ws, ChargedConnection):  # the client's pings and pongs share the bucket
        ws.charge_control = lambda: charge(handle, bucket, trio.current_time())
    try:
        async with trio.open_nursery() as nursery:
            handle.scope = nursery.cancel_scope
            if handle.close_code is not None:  # closed by the hub before we got here
                nursery.cancel_scope.cancel()
            await ctx.heartbeat.cast(Watch(handle, ws, expires_at))
            # The reader runs during the replay too: the client's acks of replayed messages
            # land as they come, so a replay cut short still makes progress.
            nursery.start_soon(replay_then_go_live, handle, ctx.store, gate)
            del gate
            handle.on_catch_up = partial(nursery.start_soon, catch_up, handle, ctx.store)
            handle.on_room_gap = lambda room_id: nursery.start_soon(
                fill_room_gap, handle, ctx.store, room_id
            )
            await read_frames(handle, ws, links, bucket)
            nursery.cancel_scope.cancel()
    except BaseException as exc:
        graceful = not _only_cancelled(exc)
        if graceful:
            handle.close(CloseCode.INTERNAL_ERROR, "internal error")
        else:  # stopped from outside (shutdown past its drain): its writer is going too
            handle.close(CloseCode.GOING_AWAY, "server shutting down")
        raise
    finally:
        handle.finished = True
        with trio.CancelScope(shield=True):
            await _close(handle, ws, ctx, graceful=graceful)


async def _close(
    handle: Handle,
    ws: trio_websocket.WebSocketConnection,
    ctx: ConnectionContext,
    *,
    graceful: bool,
) -> None:
    """Tell the hub, then the close handshake. Stopped from outside, the actor's writer and
    trio-websocket's reader are being cancelled too: no handshake then, the close frame goes
    out without waiting when the socket closes (`_owed_close`)."""
    # A Forget that does not fit is not needed: the heartbeat drops a finished connection at
    # its next deadline. A Leave that cannot get through (the hub's mailbox full for
    # close_timeout, or the hub gone as the process stops) is not lost for good: the janitor
    # sweeps finished connections.
    with contextlib.suppress(ActorError):
        ctx.heartbeat.cast_nowait(Forget(handle.conn_id))
    with contextlib.suppress(ActorError):
        try:
            ctx.hub.cast_nowait(Leave(handle))
        except MailboxFull:
            with trio.move_on_after(ctx.config.close_timeout):
                await ctx.hub.cast(Leave(handle))
    if graceful and ws.closed is None:
        with trio.move_on_after(ctx.config.close_timeout):
            await ws.aclose(handle.close_code or CloseCode.NORMAL, handle.close_reason or None)
    peer = ws.closed.code if ws.closed is not None else CloseCode.NORMAL
    ctx.on_closed(handle.close_code or peer)
    if handle.lease is not None and ctx.leases is not None:
        ctx.leases.release_lease(handle.user_id, handle.lease)


def _only_cancelled(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_only_cancelled(inner) for inner in exc.exceptions)
    return isinstance(exc, trio.Cancelled)


def _owed_close(ws: trio_websocket.WebSocketConnection, handle: Handle) -> bytes | None:
    """The close frame still owed when the socket closes, if any (written without waiting).

    Two cases leave wsproto's state OPEN with no close frame sent: a frame trio-websocket
    cannot parse (text that is not UTF-8: 1007; a protocol error: 1002) — it records the
    code and drops the TCP connection, though docs/protocol.md promises the client that
    code — and an actor stopped from outside, with no time for a close handshake (the
    handle's code).
    The state is read from trio-websocket's private `_wsproto` (pinned below 0.13).
    """
    if getattr(getattr(ws, "_wsproto", None), "state", None) is not WsState.OPEN:
        return None
    reason = ws.closed
    if reason is not None and reason.code in _SILENT_CLOSES:
        return close_frame(reason.code, reason.reason or "")
    if reason is None and handle.close_code is not None:
        return close_frame(handle.close_code, handle.close_reason)
    return None
