"""The Redis broker: frames cross processes and hosts over Redis pub/sub.

Routing, never fan-out to every node: one channel per topic (`user:<id>`, `broadcast`), and
a node subscribes to a user's channel only while that user has a connection on it. A frame
is encoded once by the node that accepts the message and crosses as bytes; the hub has
already delivered it to its own connections, so a node drops what it published itself.
Publishes are pipelined: whatever waits is sent in one round trip.

Redis pub/sub is at-most-once. Durable direct messages are durable because the store has
them: the accepting node publishes a direct message once, after its commit, and a new
connection reads the store only once its user's topic is subscribed (`subscribe` sets the
join's `routed` event when Redis confirms), so each message either is in the store when
the connection reads it or reaches the node live. After a broker interruption, every
connection catches up from the store.

A subscription can die silently (after a failover, or a restart on the same address): each
node publishes to its own probe channel every `probe_interval` and replaces its pub/sub
connection when a probe does not come back within `probe_timeout` (10 s: a saturated event
loop answers its own probe late, and a false alarm costs a resubscription and a catch-up).

Ownership: the hub changes the topics it wants (`subscribe`, `unsubscribe`: a set this
object owns, never blocking) and queues frames (`publish`: a bounded channel; a full one
drops the frame and counts it). The broker's own tasks (`serve`) do the network work.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import coredis
import orjson
import trio
from coredis.patterns.pubsub import PubSub

from ..broker import BROADCAST
from ._channels import CONTROL, channel, pack, probe_channel, topic_of, unpack

log = logging.getLogger("momentum.cluster.broker")

#: Frames waiting to be published; past it a frame is dropped (and counted).
PUBLISH_QUEUE = 10_000
#: Publishes sent in one pipeline.
PUBLISH_BATCH = 1000
#: Channels subscribed or unsubscribed in one command.
SUBSCRIBE_BATCH = 500
#: Reconnection backoff, doubled from the first to the last.
BACKOFF = (0.1, 5.0)


class BrokerSink(Protocol):
    """Where the broker hands what arrives from the other nodes (the local hub, the janitor)."""

    def forward(self, topic: str, frame: bytes, kind: str) -> Awaitable[None]: ...

    def catch_up(self) -> Awaitable[None]: ...

    def control(self, command: dict[str, Any]) -> Awaitable[None]: ...


@dataclass(frozen=True, slots=True)
class BrokerStatistics:
    state: str  # "connecting", "up", "down"
    lag: float | None  # seconds the last probe took, None before the first
    published: int
    received: int
    dropped: int  # frames that could not be published (queue full, Redis down)
    resubscribes: int


class ProbeLost(Exception):
    """A probe did not come back: the subscription is dead even if the socket is not."""


class RedisBroker:
    """`Broker` over Redis; `serve` runs its tasks (publisher, subscriber, probe)."""

    name = "redis"

    def __init__(
        self,
        client: coredis.Redis[bytes],
        node_id: str,
        *,
        probe_interval: float = 2.0,
        probe_timeout: float = 10.0,
    ) -> None:
        self._client = client
        self.node_id = node_id
        self._origin = node_id.encode()
        self._probe_interval = probe_interval
        self._probe_timeout = probe_timeout
        self._outbox_send, self._outbox = trio.open_memory_channel[tuple[str, bytes]](PUBLISH_QUEUE)
        self._wanted: set[str] = set()  # channels the hub wants (besides the node's own)
        self._active: set[str] = set()  # channels the current subscription has
        self._leaving: set[str] = set()  # channels being unsubscribed right now
        self._routed: dict[str, list[trio.Event]] = {}  # joins waiting for their channel
        self._wanted_changed = trio.Event()
        self._probe_seen = trio.Event()
        self.state = "connecting"
        self.lag: float | None = None
        self._published = self._received = self._dropped = self._resubscribes = 0

    # -- the hub's side (never blocks) ---------------------------------------------------------

    def publish(self, topic: str, frame: bytes, kind: str, message_id: str = "") -> None:
        payload = pack(self._origin, kind, message_id, frame)
        try:
            self._outbox_send.send_nowait((channel(topic), payload))
        except trio.WouldBlock:
            self._dropped += 1

    def subscribe(self, topic: str, routed: trio.Event) -> None:
        name = channel(topic)
        self._wanted.add(name)
        if self.state == "up" and name in self._active and name not in self._leaving:
            routed.set()
            return
        self._routed.setdefault(name, []).append(routed)
        self._wanted_changed.set()

    def unsubscribe(self, topic: str) -> None:
        name = channel(topic)
        self._wanted.discard(name)
        for routed in self._routed.pop(name, ()):
            routed.set()  # nobody of that user is left here to wait
        self._wanted_changed.set()

    def publish_control(self, command: dict[str, Any]) -> None:
        """A cluster command for every other node (see `BrokerSink.control`)."""
        payload = {**command, "origin": self.node_id}
        try:
            self._outbox_send.send_nowait((CONTROL, orjson.dumps(payload)))
        except trio.WouldBlock:
            self._dropped += 1

    def statistics(self) -> BrokerStatistics:
        return BrokerStatistics(
            self.state,
            self.lag,
            self._published,
            self._received,
            self._dropped,
            self._resubscribes,
        )

    # -- the broker's tasks ----------------------------------------------------------------------

    async def serve(
        self, sink: BrokerSink, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> NoReturn:
        """Publish and subscribe until cancelled, reconnecting with backoff; ready at once
        (a node starts without Redis, degraded, and connects when Redis answers)."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._serve_publishes)
            task_status.started()
            await self._serve_subscriptions(sink)
        raise AssertionError("unreachable")

    async def _serve_publishes(self) -> NoReturn:
        batch: list[tuple[str, bytes]] = []
        while True:
            if not batch:
                batch.append(await self._outbox.receive())
            while len(batch) < PUBLISH_BATCH:
                try:
                    batch.append(self._outbox.receive_nowait())
                except trio.WouldBlock:
                    break
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for name, payload in batch:
                        pipe.publish(name, payload)
                self._published += len(batch)
            except Exception as exc:  # Redis down: at-most-once, counted
                self._dropped += len(batch)
                log.warning("could not publish %d frame(s): %r", len(batch), exc)
                self._reconnect()
                await trio.sleep(BACKOFF[0])
            batch = []

    async def _serve_subscriptions(self, sink: BrokerSink) -> NoReturn:
        delay, interrupted = BACKOFF[0], False
        while True:
            try:
                async with self._subscription() as pubsub:
                    self.state = "up"
                    delay = BACKOFF[0]
                    if interrupted:
                        self._resubscribes += 1
                        log.info("broker subscription back: catching connections up")
                        await sink.catch_up()
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self._sync_topics, pubsub)
                        nursery.start_soon(self._probe)
                        await self._read(pubsub, sink)
            except BaseException as caught:
                exc = _failure(caught)
                if self.state != "down":
                    log.warning("broker subscription lost (%r): reconnecting", exc)
                self.state, interrupted = "down", True
                self._reconnect()
            await trio.sleep(delay)
            delay = min(delay * 2, BACKOFF[1])

    def _reconnect(self) -> None:
        """Drop the shared client's connections: after a failure they may be silent (coredis
        would keep using one that timed out), and the next command opens a fresh one."""
        self._client.connection_pool.disconnect()

    @asynccontextmanager
    async def _subscription(self) -> AsyncIterator[PubSub[bytes]]:
        """A fresh pub/sub connection on the node's own channels and every wanted topic.

        After a failure the pool's connections are dropped first (`_reconnect`): coredis would
        hand a pooled one back, silent if Redis went silent. coredis's own reconnection is off
        (`retry_policy=None`): a lost connection ends this block with an error, and the caller
        makes a new one. Left by cancelling it (leaving
        a coredis PubSub normally can wait on its reconnection)."""
        self._active = set()
        own = [CONTROL, probe_channel(self.node_id), channel(BROADCAST)]
        subscribed = False
        # A Redis that went silent must not hold the subscription up: until it is made, the
        # scope has the probe's deadline.
        with trio.CancelScope(deadline=trio.current_time() + self._probe_timeout) as scope:
            async with self._client.pubsub(
                channels=own, ignore_subscribe_messages=True, retry_policy=None
            ) as pubsub:
                try:
                    await self._subscribe_wanted(pubsub)
                    subscribed, scope.deadline = True, math.inf
                    yield pubsub
                finally:
                    scope.cancel()
        if not subscribed:
            raise ProbeLost(f"Redis did not confirm a subscription within {self._probe_timeout} s")

    async def _subscribe_wanted(self, pubsub: PubSub[bytes]) -> None:
        self._wanted_changed = trio.Event()
        add = sorted(self._wanted - self._active)
        remove = sorted(self._active - self._wanted)
        for start in range(0, len(add), SUBSCRIBE_BATCH):
            chunk = add[start : start + SUBSCRIBE_BATCH]
            await pubsub.subscribe(*chunk)  # returns once Redis has confirmed
            self._active.update(chunk)
            self._release_routed(chunk)
        self._leaving.update(remove)
        try:
            for start in range(0, len(remove), SUBSCRIBE_BATCH):
                chunk = remove[start : start + SUBSCRIBE_BATCH]
                await pubsub.unsubscribe(*chunk)
                self._active.difference_update(chunk)
        finally:
            self._leaving.difference_update(remove)
        # a channel wanted again while it was being left (or already subscribed when a
        # join came in during a subscription change) has its waiters released next round
        self._release_routed([name for name in self._routed if name in self._active])

    def _release_routed(self, names: list[str]) -> None:
        for name in names:
            for routed in self._routed.pop(name, ()):
                routed.set()

    async def _sync_topics(self, pubsub: PubSub[bytes]) -> NoReturn:
        while True:
            await self._wanted_changed.wait()
            await self._subscribe_wanted(pubsub)

    async def _probe(self) -> NoReturn:
        probe = probe_channel(self.node_id)
        while True:
            self._probe_seen = trio.Event()
            sent = trio.current_time()
            with trio.move_on_after(self._probe_timeout) as waiting:
                await self._client.publish(probe, b"probe")  # a silent Redis hangs here too
                await self._probe_seen.wait()
            if waiting.cancelled_caught:
                raise ProbeLost(f"no probe back within {self._probe_timeout} s")
            self.lag = trio.current_time() - sent
            await trio.sleep(max(0.0, self._probe_interval - self.lag))

    async def _read(self, pubsub: PubSub[bytes], sink: BrokerSink) -> NoReturn:
        probe = probe_channel(self.node_id).encode()
        while True:
            message = await pubsub.get_message()
            if message is None or message["type"] != "message":
                continue
            name, data = message["channel"], message["data"]
            assert isinstance(name, bytes) and isinstance(data, bytes)
            if name == probe:
                self._probe_seen.set()
            elif name == CONTROL.encode():
                await self._control(data, sink)
            else:
                await self._frame(topic_of(name.decode()), data, sink)

    async def _frame(self, topic: str, data: bytes, sink: BrokerSink) -> None:
        try:
            origin, kind, _, frame = unpack(data)
        except ValueError:
            log.warning("dropped a malformed frame on %s", topic)
            return
        if origin == self._origin:
            return  # published here: delivered locally already
        self._received += 1
        await sink.forward(topic, frame, kind)

    async def _control(self, data: bytes, sink: BrokerSink) -> None:
        try:
            command = orjson.loads(data)
        except orjson.JSONDecodeError:
            command = None
        if not isinstance(command, dict):
            log.warning("dropped a malformed control message")
            return
        if command.get("origin") != self.node_id:
            await sink.control(command)


def _failure(caught: BaseException) -> BaseException:
    """What ended a subscription, as a failure to recover from; re-raised instead when it
    carries a cancellation (the broker is stopping, and coredis's pub/sub clean-up, which
    fails once its connection is gone, is noise then)."""
    if isinstance(caught, BaseExceptionGroup):
        cancelled, _ = caught.split(trio.Cancelled)
        if cancelled is not None:
            raise cancelled from None
    if not isinstance(caught, Exception):
        raise caught
    return caught
