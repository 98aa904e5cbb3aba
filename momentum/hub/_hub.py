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

from ..broker import (
    BROADCAST,
    PRESENCE,
    Broker,
    LocalBroker,
    PresenceSink,
    RoomPresenceSink,
    room_topic,
    user_topic,
)
from ..protocol import CloseCode, ErrorCode, Frame
from ..storage import Barrier, NewMessage, Persist, WriterMsg
from ._counters import Counters, HubStats
from ._handle import ConnectionHandle
from ._messages import (
    Delivery,
    Publish,
    Refused,
    ReplayGate,
    RevokeTokens,
    RoomPublish,
)
from ._online import OnlineIndex, OnlinePage, OnlineUser, page_of
from ._presence import PresenceBatch
from ._reservations import Reservations
from ._room_activity import BusiestRooms, RoomActivity
from ._room_messages import RoomRevoke
from ._room_presence import ROOM_PRESENCE, RoomPresence
from ._rooms import RoomRegistry
from ._senders import SenderLimits
from ._written import answer_written

log = logging.getLogger("momentum.hub")

#: How long the hub remembers that a user was disabled (handshakes in flight meanwhile).
DISABLED_MEMORY = 60.0

_NOBODY: Mapping[int, ConnectionHandle] = {}


@dataclass(frozen=True, slots=True)
class HubConfig:
    max_connections: int
    max_connections_per_user: int
    presence_interval: float
    reservation_ttl: float = 30.0  # longer than any handshake
    message_ttl: float = 7 * 24 * 3600.0
    observe_latency: Callable[[float], None] = lambda seconds: None
    #: event-loop time of the hub's periodic work, by task (`TIMED_TASKS`)
    observe_task: Callable[[str, float], None] = lambda task, seconds: None
    broker: Broker = field(default_factory=LocalBroker)
    #: None: the hub announces presence itself; a cluster resolves it across nodes
    presence: PresenceSink | None = None
    #: the same for room presence (a user's first and last subscription to a room here)
    room_presence: RoomPresenceSink | None = None
    #: messages per second one user may publish (all connections and HTTP); 0: no limit
    user_rate: float = 0.0
    user_burst: int = 1


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
        #: the connections that want `user_joined` / `user_left`: a join costs one frame each
        self.presence_audience: dict[int, ConnectionHandle] = {}
        self.online_index = OnlineIndex()  # the ids of `by_user`, sorted: pages of it
        self.senders = SenderLimits(config.user_rate, config.user_burst)
        self.counters = Counters()
        self.errors = 0
        self.broker = config.broker
        self.rooms = RoomRegistry(config.broker, RoomPresence(config.room_presence))
        self.room_activity = RoomActivity(trio.current_time())
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
        self.senders.forget_idle(now)
        for user_id in [u for u, until in self.disabled.items() if until < now]:
            del self.disabled[user_id]

    def join(self, handle: ConnectionHandle, reservation: int, gate: ReplayGate) -> None:
        self.release(reservation)
        if self.closing:  # it got its slot before CloseAll: close it like the others
            handle.close(CloseCode.GOING_AWAY, "server shutting down")
        elif handle.user_id in self.disabled:  # authenticated before its user was disabled
            handle.close(CloseCode.USER_DISABLED, "user disabled")
        self.connections[handle.conn_id] = handle
        if handle.wants_presence:
            self.presence_audience[handle.conn_id] = handle
        self.broker.subscribe(user_topic(handle.user_id), gate.routed)
        mine = self.by_user.get(handle.user_id)
        if mine is None:
            mine = self.by_user[handle.user_id] = {}
            self.online_index.add(handle.user_id)
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
        self.presence_audience.pop(handle.conn_id, None)
        self.rooms.leave_all(handle)
        mine = self.by_user.get(handle.user_id)
        if mine is None:
            return
        mine.pop(handle.conn_id, None)
        if not mine:
            del self.by_user[handle.user_id]
            self.online_index.discard(handle.user_id)
            self.broker.unsubscribe(user_topic(handle.user_id))
            if self.config.presence is None:
                self.presence.left(handle.user_id, handle.username)
            else:
                self.config.presence.user_offline(handle.user_id, handle.username)

    # -- routing ------------------------------------------------------------------------------

    def publish(self, msg: Publish) -> None:
        """Deliver to this node's connections now. A broadcast goes to the other nodes at
        once and is answered here; a direct message goes to the store writer, and once it is
        committed to the other nodes (one publish: see `answer_written`) and to its sender.
        A user over its own rate (`SenderLimits`) is answered `rate_limited` at once."""
        if msg.sender_id is not None:
            wait = self.senders.wait_for(msg.sender_id, trio.current_time())
            if wait:
                self.counters.drops["user_rate_limited"] += 1
                error = ErrorCode.RATE_LIMITED
                msg.answer(Delivery(msg.message_id, msg.ref_id, 0, False, error, wait))
                return
        self.counters.messages_in[msg.message_type] += 1
        frame = Frame.of_envelope(msg.envelope)
        if msg.to_user_id is None:
            delivered = self._deliver(self.connections, frame)
            self.broker.publish(BROADCAST, frame.json, msg.message_type)
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

    def publish_room(self, msg: RoomPublish) -> None:
        """A stored room message: to this node's subscribers, and once to the other nodes."""
        self.counters.messages_in[msg.message_type] += 1
        frame = Frame.of_envelope(msg.envelope)
        self.broker.publish(room_topic(msg.room_id), frame.json, msg.message_type, msg.message_id)
        self._deliver_room(msg.room_id, msg.offset, frame, msg.message_type)
        self.config.observe_latency(trio.current_time() - msg.received_at)

    def revoke_room(self, msg: RoomRevoke) -> int:
        """Unsubscribe this node's subscribers the revocation concerns; the count."""
        return self.rooms.revoke(msg.room_id, msg.user_id, msg.reason, self._offered)

    def charge_sender(self, user_id: uuid.UUID) -> float:
        """A room message of `user_id` against its rate: 0.0, or the seconds to wait."""
        wait = self.senders.wait_for(user_id, trio.current_time())
        if wait:
            self.counters.drops["user_rate_limited"] += 1
        return wait

    def _deliver_room(self, room_id: uuid.UUID, offset: int, frame: Frame, kind: str) -> None:
        self.room_activity.record(room_id)
        delivered = self.rooms.deliver(room_id, offset, frame, self._offered, self._refused)
        self.counters.deliveries += delivered
        self.counters.deliveries_by_type[kind] += delivered

    def _persist(self, msg: Publish, recipient: uuid.UUID, frame: Frame, delivered: int) -> None:
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
            written = partial(answer_written, msg, frame.json, delivered, self.broker)
            self.writer.cast_nowait(Persist(message, written))
        except ActorError:
            self.counters.drops["storage_busy"] += 1
            self.broker.publish(user_topic(recipient), frame.json, msg.message_type, msg.message_id)
            busy = Delivery(msg.message_id, msg.ref_id, delivered, False, ErrorCode.STORAGE_BUSY)
            msg.answer(busy)

    def _deliver(self, targets: Mapping[int, ConnectionHandle], frame: Frame) -> int:
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
        self.room_activity.rotate(now)
        self._expire(now)
        self.counters.presence_frames += self.rooms.tick(now, self._offered, self._refused)
        if self.presence:
            for envelope in self.presence.flush():
                self.counters.presence_frames += 1
                frame = Frame.of_envelope(envelope)
                delivered = self._deliver(self.presence_audience, frame)
                self.broker.publish(BROADCAST, frame.json, PRESENCE)
                self.counters.deliveries_by_type[PRESENCE] += delivered

    def sweep(self, idle_before: float) -> int:
        """Close the connections idle since before `idle_before`; forget finished ones whose
        Leave was lost (the mailbox stayed full). One pass: it runs over every connection."""
        finished, stale = [], []
        for handle in self.connections.values():
            if handle.finished:
                finished.append(handle)
            elif handle.last_activity < idle_before:
                stale.append(handle)
        for gone in finished:
            self.leave(gone)
        for handle in stale:
            handle.close(CloseCode.STALE, "idle for too long")
        self.counters.drops["idle"] += len(stale)
        return len(stale)

    def forward(self, topic: str, frame: bytes, kind: str) -> None:
        """A frame from another node: to this node's connections of `topic`."""
        targets: Mapping[int, ConnectionHandle]
        if topic == BROADCAST:
            targets = self.presence_audience if kind == PRESENCE else self.connections
        elif topic.startswith("user:"):
            targets = self.by_user.get(uuid.UUID(topic.removeprefix("user:")), _NOBODY)
        elif topic.startswith("room:"):
            room_id = uuid.UUID(topic.removeprefix("room:"))
            if kind != ROOM_PRESENCE:
                self.room_activity.record(room_id)
            delivered = self.rooms.forward(room_id, frame, kind, self._offered, self._refused)
            self.counters.deliveries += delivered
            self.counters.deliveries_by_type[kind] += delivered
            return
        else:
            return
        delivered = self._deliver(targets, Frame(frame))
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

    def disconnect(self, user_id: uuid.UUID) -> int:
        """Close the user's connections here (4004); it may connect again at once."""
        mine = list(self.by_user.get(user_id, {}).values())
        for handle in mine:
            handle.close(CloseCode.DISCONNECTED, "disconnected by an operator")
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

    def online_page(self, after: uuid.UUID | None, limit: int) -> OnlinePage:
        return page_of(self.by_user, self.online_index, after, limit, _online_user)

    def busiest_rooms(self) -> BusiestRooms:
        subscribers = {room: len(conns) for room, conns in self.rooms.subscribers.items()}
        return self.room_activity.busiest(subscribers, trio.current_time())

    def stats(self) -> HubStats:
        return self.counters.snapshot(
            total_connections=len(self.connections),
            unique_users=len(self.by_user),
            server_uptime=int(trio.current_time() - self.started_at),
            broker=self.broker.name,
            hub_errors=self.errors,
        )


def _online_user(user_id: uuid.UUID, mine: Mapping[int, ConnectionHandle]) -> OnlineUser:
    return OnlineUser(
        user_id=user_id,
        username=next(iter(mine.values())).username,
        connections=len(mine),
        connected_since=min(h.connected_at for h in mine.values()),
    )
