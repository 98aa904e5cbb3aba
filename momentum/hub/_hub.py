"""The hub actor: registry of connections, routing, presence and counters.

One task owns all of this state, so none of it needs a lock. Connections and the HTTP API
talk to it only through its bounded mailbox (see `_messages`). It never awaits a client:
frames are handed over with `Session.deliver`, which never blocks, and a connection whose
outbound queue is full is asked to close with 4009 (slow consumer) instead.

A failure while handling one message is logged and counted, and the hub goes on: one bad
message must not drop every connection of the process. A failure of the hub's loop itself
escalates to the root supervisor, which stops the process (one-for-all).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NoReturn

import trio

from actors import ActorError, ActorRef, Mailbox, MailboxFull

from ..broker import BROADCAST, Broker, LocalBroker, user_topic
from ..protocol import CloseCode, ErrorCode, MessageType, encode_envelope, text_frame
from ..storage import NewMessage
from ._counters import Counters
from ._messages import (
    CloseAll,
    Delivery,
    GetOnline,
    GetStats,
    HubMsg,
    Join,
    Leave,
    OnlineUser,
    Publish,
    Refusal,
    Release,
    ReplayDone,
    Reserve,
    SendTo,
    SetUserActive,
    Sweep,
    Tick,
)
from ._presence import PresenceBatch
from ._reservations import Reservations
from ._session import Session
from .persistence import Barrier, Persist, PersistenceMsg, notify_sender

log = logging.getLogger("momentum.hub")

#: How long the hub remembers that a user was disabled (handshakes in flight meanwhile).
DISABLED_MEMORY = 60.0

#: Messages handled between two flushes of the connections' write queues.
BATCH = 256

BrokerFactory = Callable[[Callable[[str, bytes], int]], Broker]


@dataclass(frozen=True, slots=True)
class HubConfig:
    max_connections: int
    max_connections_per_user: int
    presence_interval: float
    reservation_ttl: float = 30.0  # longer than any handshake
    message_ttl: float = 7 * 24 * 3600.0
    observe_latency: Callable[[float], None] = lambda seconds: None
    broker_factory: BrokerFactory = LocalBroker


class Hub:
    """The hub's state and handlers; `serve_hub` runs one in a task."""

    def __init__(
        self,
        config: HubConfig,
        *,
        started_at: float,
        persistence: ActorRef[PersistenceMsg],
    ) -> None:
        self.config = config
        self.persistence = persistence
        self.started_at = started_at
        self.sessions: dict[int, Session] = {}
        self.by_user: dict[uuid.UUID, dict[int, Session]] = {}
        self.reservations = Reservations(config.reservation_ttl)
        self.closing = False  # CloseAll was asked: shutting down
        self.disabled: dict[uuid.UUID, float] = {}  # users disabled (SetUserActive), until when
        self.presence = PresenceBatch()
        self.counters = Counters()
        self.errors = 0
        self.broker = config.broker_factory(self.deliver_local)
        self._dirty: list[Session] = []
        self._barriers: collections.deque[Session] = (
            collections.deque()
        )  # sessions with frames buffered in this batch

    # -- admission ----------------------------------------------------------------------------

    def reserve(self, user_id: uuid.UUID) -> Refusal | int:
        if self.closing:
            return Refusal("shutting_down", "the server is shutting down")
        if len(self.sessions) + len(self.reservations) >= self.config.max_connections:
            return Refusal("server_full", "the server has no room for more connections")
        held = len(self.by_user.get(user_id, ())) + self.reservations.held_by(user_id)
        if held >= self.config.max_connections_per_user:
            limit = self.config.max_connections_per_user
            return Refusal("too_many_connections", f"at most {limit} connections per user")
        return self.reservations.take(user_id, now=trio.current_time())

    def release(self, reservation: int) -> None:
        self.reservations.give_back(reservation)

    def _expire(self, now: float) -> None:
        """Forget reservations nobody joined or released, and old disabled-user marks."""
        self.reservations.expire(now)
        for user_id in [u for u, until in self.disabled.items() if until < now]:
            del self.disabled[user_id]

    def join(self, session: Session, reservation: int) -> None:
        self.release(reservation)
        if self.closing:  # it got its slot before CloseAll: close it like the others
            session.request_close(CloseCode.GOING_AWAY, "server shutting down")
        elif session.user_id in self.disabled:  # authenticated before its user was disabled
            session.request_close(CloseCode.USER_DISABLED, "user disabled")
        self.sessions[session.conn_id] = session
        mine = self.by_user.get(session.user_id)
        if mine is None:
            mine = self.by_user[session.user_id] = {}
            self.broker.subscribe(user_topic(session.user_id))
            self.presence.joined(session.user_id, session.username)
        mine[session.conn_id] = session
        # The replay must wait for the messages routed here while the user was offline.
        self._barriers.append(session)
        self._send_barriers()
        self.counters.connections_opened += 1
        self.counters.peak_connections = max(self.counters.peak_connections, len(self.sessions))

    def leave(self, session: Session) -> None:
        if self.sessions.pop(session.conn_id, None) is None:
            return
        mine = self.by_user.get(session.user_id)
        if mine is None:
            return
        mine.pop(session.conn_id, None)
        if not mine:
            del self.by_user[session.user_id]
            self.broker.unsubscribe(user_topic(session.user_id))
            self.presence.left(session.user_id, session.username)

    # -- routing ------------------------------------------------------------------------------

    def publish(self, msg: Publish) -> None:
        """Deliver live now; a direct message then goes to the persistence actor, which
        acks the sender after the commit. Broadcasts are live only: acked here."""
        self.counters.messages_in[msg.message_type] += 1
        topic = BROADCAST if msg.to_user_id is None else user_topic(msg.to_user_id)
        delivered = self.broker.publish(topic, text_frame(msg.envelope)) or 0
        self.counters.deliveries_by_type[msg.message_type] += delivered
        self.config.observe_latency(trio.current_time() - msg.received_at)
        if msg.to_user_id is None:
            self._answer(msg, Delivery(delivered, stored=False))
        else:
            if delivered == 0:
                self.counters.drops["recipient_offline"] += 1
            self._persist(msg, msg.to_user_id, delivered)

    def _persist(self, msg: Publish, recipient: uuid.UUID, delivered: int) -> None:
        now = datetime.now(UTC)
        stored = NewMessage(
            msg.message_id,
            msg.sender_id,
            recipient,
            msg.message_type,
            msg.envelope,
            now,
            now + timedelta(seconds=self.config.message_ttl),
        )
        try:
            self.persistence.cast_nowait(
                Persist(stored, msg.ref_id, delivered, msg.sender, msg.reply)
            )
        except ActorError:
            self.counters.drops["storage_busy"] += 1
            if msg.sender is not None:
                notify_sender(
                    msg.sender, msg.message_id, msg.ref_id, delivered, ErrorCode.STORAGE_BUSY
                )
            if msg.reply is not None:
                msg.reply.send(Delivery(delivered, stored=False))

    def _answer(self, msg: Publish, delivery: Delivery) -> None:
        if msg.reply is not None:
            msg.reply.send(delivery)
        if msg.sender is not None:
            ack = encode_envelope(
                MessageType.ACK,
                {
                    "ref_id": msg.ref_id,
                    "message_id": msg.message_id,
                    "delivered": delivery.delivered,
                    "stored": False,
                },
                to_user_id=msg.sender.user_id,
            )
            if self._buffer(msg.sender, text_frame(ack)):
                self.counters.deliveries_by_type["ack"] += 1

    def deliver_local(self, topic: str, frame: bytes) -> int:
        """Hand `frame` to every local connection of `topic`; close the ones that cannot keep up."""
        if topic == BROADCAST:
            targets = self.sessions
        else:
            targets = self.by_user.get(uuid.UUID(topic.removeprefix("user:")), {})
        delivered = 0
        for session in targets.values():
            if self._buffer(session, frame):
                delivered += 1
        self.counters.deliveries += delivered
        return delivered

    def _buffer(self, session: Session, frame: bytes) -> bool:
        """Queue `frame` for `session` until `flush`; close it if its queue is full.

        While the session replays stored messages its live frames are held back, in order,
        under the same bound, and released by `ReplayDone`.
        """
        if session.close_code is not None:  # closing: its close frame must be its last
            return False
        held = session.held
        if held is not None:
            if len(held) < session.wire.max_frames:
                held.append(frame)
                return True
            self._overflow(session)
            return False
        wire = session.wire
        if session.flush_pending:  # a second frame in this batch: coalesce it
            accepted = wire.buffer_frame(frame)
        else:  # the first: straight to the socket, as cheap as a write can be
            accepted = wire.send_frame_nowait(frame)
            session.flush_pending = True
            self._dirty.append(session)
        if not accepted:
            self._overflow(session)
        return accepted

    def flush(self) -> None:
        """End of a batch: one write per connection that got frames; overdue bookkeeping."""
        for session in self._dirty:
            session.flush_pending = False
            session.wire.flush_nowait()
        self._dirty.clear()
        if self._barriers:
            self._send_barriers()
        if self.reservations:
            self._expire(trio.current_time())

    def _send_barriers(self) -> None:
        """Hand the persistence actor the barriers of joined sessions, in join order; what
        does not fit now (its mailbox is full) is tried again after the next batch."""
        while self._barriers:
            session = self._barriers[0]
            try:
                self.persistence.cast_nowait(Barrier(done=session.in_store))
            except MailboxFull:
                return
            except ActorError:  # the persistence actor is gone: the process is stopping
                session.in_store.set()
            self._barriers.popleft()

    def replay_done(self, session: Session) -> None:
        """Stored messages are out: release the live frames held meanwhile, then go live."""
        held, session.held = session.held or [], None
        for frame in held:
            self._buffer(session, frame)

    def _overflow(self, session: Session) -> None:
        if session.close_code is None:
            self.counters.drops["slow_consumer"] += 1
        session.close_slow_consumer()

    # -- presence, janitor, admin -----------------------------------------------------------

    def tick(self) -> None:
        now = trio.current_time()
        self.counters.sample(now)
        self._expire(now)
        if self.presence:
            for envelope in self.presence.flush():
                self.counters.presence_frames += 1
                delivered = self.broker.publish(BROADCAST, text_frame(envelope)) or 0
                self.counters.deliveries_by_type["presence"] += delivered

    def sweep(self, idle_before: float) -> int:
        for gone in [s for s in self.sessions.values() if s.finished]:
            self.leave(gone)  # its Leave was lost (the mailbox stayed full): clean up here
        stale = [s for s in self.sessions.values() if s.last_activity < idle_before]
        for session in stale:
            session.request_close(CloseCode.STALE, "idle for too long")
        self.counters.drops["idle"] += len(stale)
        return len(stale)

    def set_user_active(self, user_id: uuid.UUID, active: bool) -> int:
        if active:
            self.disabled.pop(user_id, None)
            return 0
        self.disabled[user_id] = trio.current_time() + DISABLED_MEMORY
        mine = list(self.by_user.get(user_id, {}).values())
        for session in mine:
            session.request_close(CloseCode.USER_DISABLED, "user disabled")
        return len(mine)

    def close_all(self, code: int, reason: str) -> int:
        self.closing = True
        for session in self.sessions.values():
            session.request_close(code, reason)
        return len(self.sessions)

    def online(self) -> list[OnlineUser]:
        return [
            OnlineUser(
                user_id=user_id,
                username=next(iter(mine.values())).username,
                connections=len(mine),
                connected_since=min(s.connected_at for s in mine.values()),
            )
            for user_id, mine in self.by_user.items()
        ]

    def stats(self) -> dict[str, Any]:
        return {
            "total_connections": len(self.sessions),
            "unique_users": len(self.by_user),
            "server_uptime": int(trio.current_time() - self.started_at),
            "broker": self.broker.name,
            "hub_errors": self.errors,
            **self.counters.snapshot(),
        }

    # -- dispatch -----------------------------------------------------------------------------

    def handle(self, msg: HubMsg) -> None:
        match msg:
            case Publish():
                self.publish(msg)
            case ReplayDone(session=session):
                self.replay_done(session)
            case SendTo(session=session, frame=frame):
                self._buffer(session, frame)
            case Join(session=session, reservation=reservation):
                self.join(session, reservation)
            case Leave(session=session):
                self.leave(session)
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
                reply.send(self.set_user_active(user_id, active))
            case CloseAll(code=code, reason=reason, reply=reply):
                reply.send(self.close_all(code, reason))


async def serve_hub(
    mailbox: Mailbox[HubMsg],
    *,
    ref: ActorRef[HubMsg],
    persistence: ActorRef[PersistenceMsg],
    config: HubConfig,
    started_at: float,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Run a hub (fresh state on every start) on `mailbox` until cancelled."""
    hub = Hub(config, started_at=started_at, persistence=persistence)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(_tick_forever, ref, config.presence_interval))
        task_status.started()
        async for msg in mailbox:
            _handle_batch(hub, mailbox, msg)
    raise RuntimeError("the hub's mailbox was closed")


def _handle_batch(hub: Hub, mailbox: Mailbox[HubMsg], first: HubMsg) -> None:
    """Handle `first` and whatever else is already waiting (up to BATCH), then flush.

    Under light load a batch is one message and its frames go out at once; under heavy load
    each connection gets one write per batch instead of one per frame.
    """
    _handle_one(hub, first)
    for _ in range(BATCH - 1):
        try:
            msg = mailbox.receive_nowait()
        except trio.WouldBlock:
            break
        _handle_one(hub, msg)
    hub.flush()


def _handle_one(hub: Hub, msg: HubMsg) -> None:
    try:
        hub.handle(msg)
    except Exception:
        hub.errors += 1
        log.exception("hub failed to handle %s", type(msg).__name__)


async def _tick_forever(ref: ActorRef[HubMsg], interval: float) -> NoReturn:
    """Wake the hub every `interval` to flush presence; skip a tick when it is busy."""
    while True:
        await trio.sleep(interval)
        with contextlib.suppress(MailboxFull):
            ref.cast_nowait(Tick())
