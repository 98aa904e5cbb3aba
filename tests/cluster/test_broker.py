"""The Redis broker on its own, against a real Redis: routing a join only once its topic is
subscribed, forwarding other nodes' frames, and a subscription that dies silently.

Needs only Redis (`MOMENTUM_TEST_REDIS_URL`; skipped with that reason without it). Channels
are per-test (random user ids), so the shared Redis is safe to use.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import trio

from momentum.cluster import RedisBroker, redis_client
from momentum.cluster._channels import channel, pack
from tests._silent_proxy import SilentProxy


@dataclass
class RecordingSink:
    forwarded: list[tuple[str, bytes, str]] = field(default_factory=list)
    catch_ups: int = 0
    arrived: trio.Event = field(default_factory=trio.Event)

    async def forward(self, topic: str, frame: bytes, kind: str) -> None:
        self.forwarded.append((topic, frame, kind))
        self.arrived.set()

    async def catch_up(self) -> None:
        self.catch_ups += 1
        self.arrived.set()

    async def control(self, command: dict[str, Any]) -> None:
        pass


async def test_a_join_is_routed_once_redis_confirms_its_topic(redis_url: str) -> None:
    topic = f"user:{uuid.uuid4()}"
    async with redis_client(redis_url) as client:
        broker, sink = (
            RedisBroker(client, "node-a"),
            RecordingSink(),
        )
        routed = trio.Event()
        broker.subscribe(topic, routed)
        await trio.sleep(0.1)
        assert not routed.is_set()  # nothing is subscribed before the broker runs
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                await nursery.start(broker.serve, sink)
                await routed.wait()
                # from here on, what another node publishes on the topic arrives here
                await client.publish(channel(topic), pack(b"node-b", "text", "m1", b"frame"))
                await client.publish(channel(topic), pack(b"node-a", "text", "m2", b"mine"))
                await sink.arrived.wait()
                await trio.sleep(0.2)
                assert sink.forwarded == [(topic, b"frame", "text")]  # its own is dropped
                again = trio.Event()
                broker.subscribe(topic, again)  # a second join: the topic is subscribed
                assert again.is_set()
                nursery.cancel_scope.cancel()


async def test_the_last_leave_releases_joins_still_waiting(redis_url: str) -> None:
    async with redis_client(redis_url) as client:
        broker = RedisBroker(client, "node-a")
        routed = trio.Event()
        broker.subscribe("user:x", routed)  # the broker is not running: nothing confirms
        broker.unsubscribe("user:x")
        assert routed.is_set()  # nobody of that user is left to wait


async def test_a_subscription_that_goes_silent_is_replaced_and_connections_catch_up(
    redis_url: str,
) -> None:
    target = urlsplit(redis_url).port or 6379
    proxy = SilentProxy(target)
    topic = f"user:{uuid.uuid4()}"
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(proxy.serve)
            url = f"redis://127.0.0.1:{proxy.port}/0"
            async with redis_client(url, timeout=0.5) as client:
                broker = RedisBroker(
                    client,
                    "node-a",
                    probe_interval=0.2,
                    probe_timeout=1.0,
                )
                sink = RecordingSink()
                routed = trio.Event()
                broker.subscribe(topic, routed)
                await nursery.start(broker.serve, sink)
                await routed.wait()
                # a probe came back: the subscription works (a statistic, read from outside)
                while broker.lag is None:  # noqa: ASYNC110
                    await trio.sleep(0.05)
                assert broker.statistics().resubscribes == 0
                proxy.silence()  # sockets stay open; nothing comes through any more
                await sink.arrived.wait()
                assert sink.catch_ups == 1  # frames of the silent time are replayed
                stats = broker.statistics()
                assert (stats.state, stats.resubscribes) == ("up", 1)
                # the new subscription has the user's topic again
                async with redis_client(redis_url) as direct:
                    sink.arrived = trio.Event()
                    frame = pack(b"node-b", "text", "m1", b"after")
                    while not sink.forwarded:
                        await direct.publish(channel(topic), frame)
                        with trio.move_on_after(0.5):
                            await sink.arrived.wait()
                assert sink.forwarded[0] == (topic, b"after", "text")
                nursery.cancel_scope.cancel()  # the broker stops before its client closes
