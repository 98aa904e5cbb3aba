"""The hub actor: registry of connections, routing, presence and counters.

One task owns all of this state, so none of it needs a lock. Connections and the HTTP API
talk to it only through its bounded mailbox (see `_messages`), and it reaches a connection
only through its `ConnectionHandle`. It never awaits a client: frames are offered without
waiting, and a connection whose outbound queue is full is asked to close with 4009 (slow
consumer) instead.

The actor's loop, which feeds it its mailbox in batches, is `_serve.serve_hub`.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import trio

from actors import ActorError, ActorRef, MailboxFull

from ..broker import BROADCAST, Broker, LocalBroker, PresenceSink, user_topic
from ..protocol import CloseCode, ErrorCode, text_frame
from ..storage import Barrier, NewMessage, Persist, WriteResult, WriterMsg
from ._counters import Counters, HubStats
from ._handle import ConnectionHandle
from ._messages import (
    CatchUp,
    CloseAll,
    Delivery,
    Forward,
    GetOnline,
    GetStats,
    HubMsg,
    Join,
    Leave,
    OnlineUser,
    Publish,
    Refused,
    Release,
    ReplayGate,
    Reserve,
    RevokeTokens,
    SetUserActive,
    Sweep,
    Tick,
)
from ._presence import PresenceBatch
from ._reservations import Reservations

log = logging.getLogger("momentum.hub")

#: How long the hub remembers that a user was disabled (handshakes in flight meanwhile).
DISABLED_MEMORY = 60.0

_NOBODY: Mapping[int, ConnectionHandle] = {}

#: Why a direct message is not stored, by the writer's result.
_NOT_STORED = {
    WriteResult.STORED: None,
    WriteResult.FAILED: ErrorCode.STORAGE_UNAVAILABLE,
    WriteResult.REFUSED: ErrorCode.DUPLICATE_ID,
}


@dataclass(frozen=True, slots=True)
class HubConfig:
    max_connections: int
    max_connections_per_user: int
    presence_interval: float
    reservation_ttl: float = 30.0  # longer than any handshake
    message_ttl: float = 7 * 24 * 3600.0
    observe_latency: Callable[[float], None] = lambda seconds: None
    broker: Broker = field(default_factory=LocalBroker)
    #: None: the hub announces presence itself; a cluster resolves it across nodes
    presence: PresenceSink | None = None


class Hub:
    """The hub's state and handlers; `serve_hub` runs one in a task."""

    def __init__(
        self, config: HubConfig, *, started_at: float, writer: ActorRef[WriterMsg]
    ) -> None:
        self.config = config
        self.writer = writer
        self.started_at = started_at
        self.connections: dict[int, ConnectionHandle] = {}
        self.by_user: dict[uuid.UUID, dict[int, ConnectionHandle]] = {}
        self.reservations = Reservations(config.reservation_ttl)
        self.closing = False  # CloseAll was asked: shutting down
        self.disabled: dict[uuid.UUID, float] = {}  # users disabled (SetUserActive), until when
        self.presence = PresenceBatch()
        self.counters = Counters()
        self.errors = 0
        self.broker = config.broker
        self._offered: dict[int, ConnectionHandle] = {}  # offered frames since the last flush
        self._barriers: deque[trio.Event] = deque()  # for the writer, in join order

    # -- admission ----------------------------------------------------------------------------

    def reserve(self, user_id: uuid.UUID) -> Refused | int:
        if self.closing:
            return Refused(503, ErrorCode.SHUTTING_DOWN, "the server is shutting down")
        if len(self.connections) + len(self.reservations) >= self.config.max_connections:
            return Refused(
                503, ErrorCode.SERVER_FULL, "the server has no room for more connections"
            )
        held = len(self.by_user.get(user_id, ())) + self.reservations.held_by(user_id)
        if held >= self.config.max_connections_per_user:
            limit = self.config.max_connections_per_user
            return Refused(
                429, ErrorCode.TOO_MANY_CONNECTIONS, f"at most {limit} connections per user"
            )
        return self.reservations.take(user_id, now=trio.current_time())

    def release(self, reservation: int) -> None:
        self.reservations.give_back(reservation)

    def _expire(self, now: float) -> None:
        """Forget reservations nobody joined or released, and old disabled-user marks."""
        self.reservations.expire(now)
        for user_id in [u for u, until in self.disabled.items() if until < now]:
            del self.disabled[user_id]

    def join(self, handle: ConnectionHandle, reservation: int, gate: ReplayGate) -> None:
        self.release(reservation)
        if self.closing:  # it got its slot before CloseAll: close it like the others
            handle.close(CloseCode.GOING_AWAY, "server shutting down")
        elif handle.user_id in self.disabled:  # authenticated before its user was disabled
            handle.close(CloseCode.USER_DISABLED, "user disabled")
        self.connections[handle.conn_id] = handle
        self.broker.subscribe(user_topic(handle.user_id), gate.routed)
        mine = self.by_user.get(handle.user_id)
        if mine is None:
            mine = self.by_user[handle.user_id] = {}
            if self.config.presence is None:
                self.presence.joined(handle.user_id, handle.username)
            else:
                self.config.presence.user_online(handle.user_id, handle.username)
        mine[handle.conn_id] = handle
        # The replay must wait for the messages routed here while the user was offline.
        self._barriers.append(gate.committed)
        self._send_barriers()
        self.counters.connections_opened += 1
        self.counters.peak_connections = max(self.counters.peak_connections, len(self.connections))

    def leave(self, handle: ConnectionHandle) -> None:
        if self.connections.pop(handle.conn_id, None) is None:
            return
        self._offered.pop(handle.conn_id, None)
        mine = self.by_user.get(handle.user_id)
        if mine is None:
            return
        mine.pop(handle.conn_id, None)
        if not mine:
            del self.by_user[handle.user_id]
            self.broker.unsubscribe(user_topic(handle.user_id))
            if self.config.presence is None:
                self.presence.left(handle.user_id, handle.username)
            else:
                self.config.presence.user_offline(handle.user_id, handle.username)

    # -- routing ------------------------------------------------------------------------------

    def publish(self, msg: Publish) -> None:
        """Deliver to this node's connections now. A broadcast goes to the other nodes at
        once and is answered here; a direct message goes to the store writer, and once it is
        committed to the other nodes (one publish: see `_written`) and to its sender."""
        self.counters.messages_in[msg.message_type] += 1
        frame = text_frame(msg.envelope)
        if msg.to_user_id is None:
            delivered = self._deliver(self.connections, frame)
            self.broker.publish(BROADCAST, frame, msg.message_type)
        else:
            delivered = self._deliver(self.by_user.get(msg.to_user_id, _NOBODY), frame)
        self.counters.deliveries_by_type[msg.message_type] += delivered
        self.config.observe_latency(trio.current_time() - msg.received_at)
        if msg.to_user_id is None:
            msg.answer(Delivery(msg.message_id, msg.ref_id, delivered, stored=False))
            return
        if delivered == 0:
            self.counters.drops["recipient_offline"] += 1
        self._persist(msg, msg.to_user_id, frame, delivered)

    def _persist(self, msg: Publish, recipient: uuid.UUID, frame: bytes, delivered: int) -> None:
        now = datetime.now(UTC)
        message = NewMessage(
            msg.message_id,
            msg.sender_id,
            recipient,
            msg.message_type,
            msg.envelope,
            now,
            now + timedelta(seconds=self.config.message_ttl),
        )
        try:
            written = partial(_written, msg, frame, delivered, self.broker)
            self.writer.cast_nowait(Persist(message, written))
        except ActorError:
            self.counters.drops["storage_busy"] += 1
            self.broker.publish(user_topic(recipient), frame, msg.message_type, msg.message_id)
            busy = Delivery(msg.message_id, msg.ref_id, delivered, False, ErrorCode.STORAGE_BUSY)
            msg.answer(busy)

    def _deliver(self, targets: Mapping[int, ConnectionHandle], frame: bytes) -> int:
        """Offer `frame` to each of `targets`; close the ones that cannot keep up."""
        offered = self._offered
        delivered = 0
        for conn_id, handle in targets.items():
            if handle.offer(frame):
                offered[conn_id] = handle
                delivered += 1
            else:
                self._refused(handle)
        self.counters.deliveries += delivered
        return delivered

    def _refused(self, handle: ConnectionHandle) -> None:
        """A connection did not take a frame: a slow consumer, unless it is closing anyway
        (then the frame is simply not delivered, and nothing is counted)."""
        if not handle.closing:
            self.counters.drops["slow_consumer"] += 1
            handle.close(CloseCode.SLOW_CONSUMER, "slow consumer: outbound queue full")

    def flush(self) -> None:
        """End of a batch: one write per connection that got frames; overdue bookkeeping."""
        for handle in self._offered.values():
            handle.flush()
        self._offered.clear()
        if self._barriers:
            self._send_barriers()
        if self.reservations:
            self._expire(trio.current_time())

    def _send_barriers(self) -> None:
        """Hand the writer the barriers of joined connections, in join order; what does not
        fit now (its mailbox is full) is tried again after the next batch."""
        while self._barriers:
            committed = self._barriers[0]
            try:
                self.writer.cast_nowait(Barrier(done=committed))
            except MailboxFull:
                return
            except ActorError:  # the writer is gone: the process is stopping
                committed.set()
            self._barriers.popleft()

    # -- presence, janitor, admin -----------------------------------------------------------

    def tick(self) -> None:
        now = trio.current_time()
        self.counters.sample(now)
        self._expire(now)
        if self.presence:
            for envelope in self.presence.flush():
                self.counters.presence_frames += 1
                frame = text_frame(envelope)
                delivered = self._deliver(self.connections, frame)
                self.broker.publish(BROADCAST, frame, "presence")
                self.counters.deliveries_by_type["presence"] += delivered

    def sweep(self, idle_before: float) -> int:
        for gone in [h for h in self.connections.values() if h.finished]:
            self.leave(gone)  # its Leave was lost (the mailbox stayed full): clean up here
        stale = [h for h in self.connections.values() if h.last_activity < idle_before]
        for handle in stale:
            handle.close(CloseCode.STALE, "idle for too long")
        self.counters.drops["idle"] += len(stale)
        return len(stale)

    def forward(self, topic: str, frame: bytes, kind: str) -> None:
        """A frame from another node: to this node's connections of `topic`."""
        targets: Mapping[int, ConnectionHandle]
        if topic == BROADCAST:
            targets = self.connections
        elif topic.startswith("user:"):
            targets = self.by_user.get(uuid.UUID(topic.removeprefix("user:")), _NOBODY)
        else:
            return
        delivered = self._deliver(targets, frame)
        self.counters.deliveries_by_type[kind] += delivered

    def catch_up(self) -> int:
        """Replay stored messages to every connection: frames published while the broker
        was interrupted never arrived."""
        for handle in self.connections.values():
            handle.catch_up()
        return len(self.connections)

    def set_user_active(self, user_id: uuid.UUID, active: bool) -> int:
        if active:
            self.disabled.pop(user_id, None)
            return 0
        self.disabled[user_id] = trio.current_time() + DISABLED_MEMORY
        mine = list(self.by_user.get(user_id, {}).values())
        for handle in mine:
            handle.close(CloseCode.USER_DISABLED, "user disabled")
        return len(mine)

    def revoke_tokens(self, msg: RevokeTokens) -> int:
        revoked = [
            handle
            for handle in self.by_user.get(msg.user_id, {}).values()
            if handle.token_id == msg.jti
            or (msg.session is not None and handle.token_session == msg.session)
            or handle.token_issued_ms < msg.issued_before_ms
        ]
        for handle in revoked:
            handle.close(CloseCode.TOKEN_EXPIRED, "token revoked")
        return len(revoked)

    def close_all(self, code: int, reason: str) -> int:
        self.closing = True
        for handle in self.connections.values():
            handle.close(code, reason)
        return len(self.connections)

    def online(self) -> list[OnlineUser]:
        return [
            OnlineUser(
                user_id=user_id,
                username=next(iter(mine.values())).username,
                connections=len(mine),
                connected_since=min(h.connected_at for h in mine.values()),
            )
            for user_id, mine in self.by_user.items()
        ]

    def stats(self) -> HubStats:
        return self.counters.snapshot(
            total_connections=len(self.connections),
            unique_users=len(self.by_user),
            server_uptime=int(trio.current_time() - self.started_at),
            broker=self.broker.name,
            hub_errors=self.errors,
        )

    # -- dispatch -----------------------------------------------------------------------------

    def handle(self, msg: HubMsg) -> None:
        match msg:
            case Publish():
                self.publish(msg)
            case Join(handle=handle, reservation=reservation, gate=gate):
                self.join(handle, reservation, gate)
            case Leave(handle=handle):
                self.leave(handle)
            case Reserve(user_id=user_id, reply=reply):
                reply.send(self.reserve(user_id))
            case Release(reservation=reservation):
                self.release(reservation)
            case Tick():
                self.tick()
            case GetOnline(reply=reply):
                reply.send(self.online())
            case GetStats(reply=reply):
                reply.send(self.stats())
            case Sweep(idle_before=idle_before, reply=reply):
                reply.send(self.sweep(idle_before))
            case SetUserActive(user_id=user_id, active=active, reply=reply):
                closed = self.set_user_active(user_id, active)
                if reply is not None:
                    reply.send(closed)
            case RevokeTokens():
                self.revoke_tokens(msg)
            case Forward(topic=topic, frame=frame, kind=kind):
                self.forward(topic, frame, kind)
            case CatchUp():
                self.catch_up()
            case CloseAll(code=code, reason=reason, reply=reply):
                reply.send(self.close_all(code, reason))


def _written(
    msg: Publish, frame: bytes, delivered: int, broker: Broker, result: WriteResult
) -> None:
    """The writer's answer for one direct message (called in the writer's task: it touches
    no hub state). The frame goes to the other nodes only now, after the commit, so that a
    node whose recipient is just connecting either gets it live or finds it in the store
    (`ReplayGate`). Not stored (the store is down or busy), it still goes, live only; a
    refused duplicate does not."""
    if msg.to_user_id is not None and result is not WriteResult.REFUSED:
        topic = user_topic(msg.to_user_id)
        broker.publish(topic, frame, msg.message_type, msg.message_id)
    error = _NOT_STORED[result]
    msg.answer(Delivery(msg.message_id, msg.ref_id, delivered, error is None, error))
