"""The connection actor: one per WebSocket, a temporary child of the connections supervisor.

Its life (docs/architecture.md has the diagram):

1. handshake — trio-websocket parses the upgrade from the replayed head; the gatekeeper
   checks token, user and Origin; the hub reserves a slot (limits); then accept, or reject
   with an HTTP status and a JSON body;
2. serve — a reader (frames → validation → hub), a heartbeat (pings, token expiry) and the
   wire's writer run in the actor's nursery; the hub writes frames through the Session;
3. close — whoever ends it (peer, hub, janitor, heartbeat, shutdown) records a close code on
   the Session and cancels the serve scope; the actor then runs the close handshake under a
   deadline and tells the hub it left. This runs however the actor ends, crash included.

Supervision: one-for-one, temporary — a crash is logged with the connection's name by the
supervisor and never touches another connection.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import orjson
import trio
import trio_websocket
from wsproto.connection import ConnectionState as WsState

from actors import ActorError, ActorRef, MailboxFull

from ..protocol import CloseCode, ErrorCode, close_frame, text_frame, utc_timestamp
from ..storage import StorageError, Store
from ..transport import RequestHead, WireStream
from ._admission import Admitted, Gatekeeper, Refused
from ._inbound import Routes, read_frames
from ._messages import HubMsg, Join, Leave, Refusal, Release, ReplayDone, Reserve
from ._ratelimit import TokenBucket
from ._session import Session
from .persistence import Backlog, PersistenceMsg

log = logging.getLogger("momentum.connection")

_ids = itertools.count(1)
_RESERVE_TIMEOUT = 5.0
#: Stored messages read from the store at a time when a user connects.
REPLAY_PAGE = 200
#: How long a new connection waits for the store to catch up before it goes live without
#: replaying (the stored messages stay pending for its next connection).
BARRIER_WAIT = 5.0
_SILENT_CLOSES = frozenset({1002, 1007})
_REJECT_HEADERS = [(b"Content-Type", b"application/json"), (b"Connection", b"close")]


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    max_message_size: int
    outbox_size: int
    send_timeout: float
    handshake_timeout: float
    close_timeout: float
    ping_interval: float  # 0 disables server pings
    pong_timeout: float
    rate_limit: float  # messages per second; 0 disables
    rate_burst: int


@dataclass(frozen=True, slots=True)
class ConnectionContext:
    """What every connection actor shares."""

    config: ConnectionConfig
    hub: ActorRef[HubMsg]
    persistence: ActorRef[PersistenceMsg]
    backlog: Backlog
    store: Store
    gatekeeper: Gatekeeper
    wall_clock: Callable[[], float]
    accepting: Callable[[], bool]
    on_refused: Callable[[str], None] = lambda code: None
    on_closed: Callable[[int], None] = lambda code: None


async def serve_connection(
    stream: trio.SocketStream, head: RequestHead, *, ctx: ConnectionContext
) -> None:
    """Run one WebSocket connection from its upgrade request to its closed socket."""
    wire = WireStream(stream, head.raw, max_frames=ctx.config.outbox_size)
    try:
        async with trio.open_nursery() as nursery:
            wire.write_on_demand(nursery.start_soon, send_deadline=ctx.config.send_timeout)
            session, ws, expires_at = await _handshake(nursery, wire, head, ctx)
            del head  # not needed past the handshake; the connection may live for days
            if session is not None and ws is not None:
                await _serve(session, ws, ctx, expires_at)
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await wire.aclose()


async def _handshake(
    nursery: trio.Nursery, wire: WireStream, head: RequestHead, ctx: ConnectionContext
) -> tuple[Session | None, trio_websocket.WebSocketConnection | None, float]:
    """Upgrade or refuse; on success the session is registered with the hub."""
    config = ctx.config
    with trio.move_on_after(config.handshake_timeout):
        request = await trio_websocket.wrap_server_stream(
            nursery, wire, message_queue_size=1, max_message_size=config.max_message_size
        )
        verdict, reservation = await _admit(head, ctx)
        if isinstance(verdict, Refused):
            ctx.on_refused(verdict.code.value)
            body = orjson.dumps({"error": {"code": verdict.code.value, "message": verdict.message}})
            await request.reject(verdict.status, extra_headers=list(_REJECT_HEADERS), body=body)
            return None, None, 0.0
        user = verdict.user
        try:
            ws = await request.accept(subprotocol=verdict.subprotocol)
        except BaseException:
            with contextlib.suppress(ActorError):  # else the reservation expires by itself
                ctx.hub.cast_nowait(Release(reservation))
            raise
        session = Session(
            next(_ids),
            user.id,
            user.username,
            wire,
            connected_at=utc_timestamp(),
            now=trio.current_time(),
        )
        wire.last_words = partial(_owed_close, ws, session)
        await ctx.hub.cast(Join(session, reservation))
        # SPEC §10: the connection ends at `exp` (the leeway only absorbs clock skew when
        # a token is checked); a token accepted inside its leeway is closed at once.
        expires_at = trio.current_time() + (verdict.claims.exp - ctx.wall_clock())
        return session, ws, expires_at
    ctx.on_refused("handshake_timeout")
    return None, None, 0.0


async def _admit(head: RequestHead, ctx: ConnectionContext) -> tuple[Admitted | Refused, int]:
    """Credentials and Origin (the gatekeeper), then a slot (the hub): its reservation."""
    if not ctx.accepting():
        return Refused(503, ErrorCode.SHUTTING_DOWN, "the server is shutting down"), 0
    verdict = await ctx.gatekeeper.admit(head.target, list(head.headers))
    if isinstance(verdict, Refused):
        return verdict, 0
    try:
        answer: Refusal | int = await ctx.hub.call(
            lambda reply: Reserve(verdict.user.id, reply), timeout=_RESERVE_TIMEOUT
        )
    except ActorError:
        busy = Refused(503, ErrorCode.UNAVAILABLE, "the server is too busy to take connections")
        return busy, 0
    if isinstance(answer, int):
        return verdict, answer
    status = 429 if answer.code == ErrorCode.TOO_MANY_CONNECTIONS else 503
    return Refused(status, ErrorCode(answer.code), answer.message), 0


async def _serve(
    session: Session,
    ws: trio_websocket.WebSocketConnection,
    ctx: ConnectionContext,
    expires_at: float,
) -> None:
    """Reader, heartbeat and the replay of stored messages until someone closes; then the
    close handshake; then leave."""
    config = ctx.config
    graceful = True
    routes = Routes(ctx.hub, ctx.persistence, ctx.backlog, config.max_message_size)
    bucket = TokenBucket(config.rate_limit, config.rate_burst, now=trio.current_time())
    try:
        async with trio.open_nursery() as nursery:
            session.scope = nursery.cancel_scope
            if session.close_code is not None:  # closed by the hub before we got here
                nursery.cancel_scope.cancel()
            nursery.start_soon(_heartbeat, session, ws, config, expires_at)
            # The reader runs during the replay too: the client's acks of replayed messages
            # land as they come, so a replay cut short still makes progress.
            nursery.start_soon(_replay_then_go_live, session, ctx)
            await read_frames(session, ws, routes, bucket)
            nursery.cancel_scope.cancel()
    except BaseException as exc:
        graceful = not _only_cancelled(exc)
        if graceful:
            session.request_close(CloseCode.INTERNAL_ERROR, "internal error")
        else:  # stopped from outside (shutdown past its drain): its writer is going too
            session.request_close(CloseCode.GOING_AWAY, "server shutting down")
        raise
    finally:
        session.finished = True
        with trio.CancelScope(shield=True):
            await _close(session, ws, ctx, graceful=graceful)


async def _replay_then_go_live(session: Session, ctx: ConnectionContext) -> None:
    await _replay(session, ctx.store)
    await ctx.hub.cast(ReplayDone(session))


async def _replay(session: Session, store: Store) -> None:
    """Send what was stored for this user and not yet acknowledged, oldest first.

    It starts once the persistence actor has committed every message routed to the user
    before this connection joined (`in_store`); from the join on, the hub holds this
    session's live frames (`Session.held`), so stored and live messages reach the client in
    order. A message stored and delivered live during the switch-over can come twice:
    at-least-once, and ids let clients drop duplicates. The replay ends with the queue
    drained, so that the held frames find room.
    """
    with trio.move_on_after(BARRIER_WAIT) as waited:
        await session.in_store.wait()
    if waited.cancelled_caught:  # the store is far behind or down: go live without waiting
        log.warning("stored messages for %s not replayed now: the store is behind", session.user_id)
        return
    wire, after = session.wire, 0
    while True:
        try:
            page = await store.pending_messages(session.user_id, after_seq=after, limit=REPLAY_PAGE)
        except StorageError as exc:
            log.warning("stored messages for %s not replayed now: %s", session.user_id, exc)
            return
        for message in page:
            frame = text_frame(message.envelope)
            while not wire.send_frame_nowait(frame):
                if not await _room(wire):
                    return
        if len(page) < REPLAY_PAGE:
            await _room(wire)
            return
        after = page[-1].seq


async def _room(wire: WireStream) -> bool:
    """Wait until the queue has drained (a replay may wait; the hub never does)."""
    try:
        await wire.wait_send_all_might_not_block()
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        return False
    return True


async def _close(
    session: Session,
    ws: trio_websocket.WebSocketConnection,
    ctx: ConnectionContext,
    *,
    graceful: bool,
) -> None:
    """Tell the hub, then the close handshake. Stopped from outside, the actor's writer and
    trio-websocket's reader are being cancelled too: no handshake then, the close frame goes
    out without waiting when the socket closes (`_owed_close`)."""
    # A Leave that cannot get through (the hub's mailbox full for close_timeout, or the hub
    # gone as the process stops) is not lost for good: the janitor sweeps finished sessions.
    with contextlib.suppress(ActorError):
        try:
            ctx.hub.cast_nowait(Leave(session))
        except MailboxFull:
            with trio.move_on_after(ctx.config.close_timeout):
                await ctx.hub.cast(Leave(session))
    if graceful and ws.closed is None:
        with trio.move_on_after(ctx.config.close_timeout):
            await ws.aclose(session.close_code or CloseCode.NORMAL, session.close_reason or None)
    peer = ws.closed.code if ws.closed is not None else CloseCode.NORMAL
    ctx.on_closed(session.close_code or peer)


def _only_cancelled(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_only_cancelled(inner) for inner in exc.exceptions)
    return isinstance(exc, trio.Cancelled)


def _owed_close(ws: trio_websocket.WebSocketConnection, session: Session) -> bytes | None:
    """The close frame still owed when the socket closes, if any (written without waiting).

    Two cases leave wsproto's state OPEN with no close frame sent: a frame trio-websocket
    cannot parse (text that is not UTF-8: 1007; a protocol error: 1002) — it records the
    code and drops the TCP connection, though SPEC §5 promises the client that code — and an
    actor stopped from outside, with no time for a close handshake (the session's code).
    The state is read from trio-websocket's private `_wsproto` (pinned below 0.13).
    """
    if getattr(getattr(ws, "_wsproto", None), "state", None) is not WsState.OPEN:
        return None
    reason = ws.closed
    if reason is not None and reason.code in _SILENT_CLOSES:
        return close_frame(reason.code, reason.reason or "")
    if reason is None and session.close_code is not None:
        return close_frame(session.close_code, session.close_reason)
    return None


async def _heartbeat(
    session: Session,
    ws: trio_websocket.WebSocketConnection,
    config: ConnectionConfig,
    expires_at: float,
) -> None:
    """Ping every `ping_interval` and expect a pong within `pong_timeout`; end at token expiry."""
    while True:
        next_ping = trio.current_time() + config.ping_interval if config.ping_interval else None
        wake = expires_at if next_ping is None else min(next_ping, expires_at)
        await trio.sleep_until(wake)
        if trio.current_time() >= expires_at:
            session.request_close(CloseCode.TOKEN_EXPIRED, "token expired")
            return
        pinged = trio.current_time()
        with trio.move_on_after(config.pong_timeout) as waiting:
            try:
                await ws.ping()
            except trio_websocket.ConnectionClosed:
                return
        if waiting.cancelled_caught:
            if session.held_back_since(pinged):  # we were the slow side: its pong may wait
                continue
            session.request_close(CloseCode.STALE, "no pong within the timeout")
            return
        session.last_activity = trio.current_time()
