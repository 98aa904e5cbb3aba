"""coredis on Trio: the evidence that Momentum's scale-out can build on it.

Momentum will route messages between hubs over Redis pub/sub with coredis, which runs on
anyio and therefore on Trio directly (no trio-asyncio bridge). These tests check, against a
real Redis, the three things the broker will rely on: a pub/sub round trip with pipelined
publishes arriving complete and in order; a command cancelled mid-flight leaving the client
correct (no reply of the cancelled command read as the answer to a later one); and, after a
Redis restart, a dead subscription detected and replaced so that messages flow again.

Rules of this module:
- Real Redis (MOMENTUM_TEST_REDIS_URL; skipped with the reason shown when unset, run by CI)
  and the real clock; every body runs under `trio.fail_after`.
- Channel and key names are unique (`unique()`), so parallel runs never see each other's
  traffic, and keys are deleted afterwards.
- The restart test runs a private `redis-server` on a free port of its own, kills it with
  SIGKILL and starts it again; the shared Redis is never restarted. The private server is
  killed in a `finally`.
- Clients are always used as `async with` (coredis 6 requires it: the connection pool's
  connections are tasks in a task group the client owns).
- Nothing asserts on speed; the publish timing and whether the old subscription answered a
  probe after the restart are logged at INFO (`--log-cli-level=INFO` shows them).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import coredis
import pytest
import trio
from coredis.patterns.pubsub import PubSub
from coredis.typing import KeyT, ValueT

from tests._private_redis import PrivateRedis

pytestmark = pytest.mark.redis
log = logging.getLogger(__name__)

TEST_DEADLINE = 30
MESSAGES = 1000


def unique(kind: str) -> str:
    return f"momentum-test:{kind}:{uuid.uuid4().hex}"


def connect(url: str, client_name: str | None = None) -> coredis.Redis[str]:
    return coredis.Redis.from_url(url, decode_responses=True, client_name=client_name)


@asynccontextmanager
async def subscription(client: coredis.Redis[str], *channels: str) -> AsyncIterator[PubSub[str]]:
    """A PubSub on `channels` (subscribed when this yields) that can always be left.

    Leaving coredis's own `async with client.pubsub()` normally while it is between reconnect
    attempts does not return (its exit cancels the task group of the connection it has lost,
    then waits for the task that is reconnecting); cancelling it does. So this leaves it by
    cancelling it.
    """
    with trio.CancelScope() as scope:
        async with client.pubsub(channels=channels, ignore_subscribe_messages=True) as pubsub:
            try:
                yield pubsub
            finally:
                scope.cancel()


async def next_data(pubsub: PubSub[str]) -> str:
    """The next published message's data.

    `get_message()` returns None both for a filtered subscribe acknowledgement and on its
    own timeout, and `async for` over a PubSub ends while coredis is reconnecting, so time
    limits are the caller's cancel scopes and None is simply skipped.
    """
    while True:
        message = await pubsub.get_message()
        if message is not None and message["type"] == "message":
            return str(message["data"])


async def delivers(
    client: coredis.Redis[str], pubsub: PubSub[str], channel: str, timeout: float
) -> bool:
    """Publish a unique probe on `channel`: does `pubsub` hand it over within `timeout`?"""
    probe = f"probe-{uuid.uuid4().hex}"
    await client.publish(channel, probe)
    with trio.move_on_after(timeout):
        while await next_data(pubsub) != probe:
            pass
        return True
    return False


# --- a. pub/sub round trip ------------------------------------------------------------------


async def test_pipelined_publishes_arrive_complete_and_in_order(redis_url: str) -> None:
    channel = unique("channel")
    sent = [f"message-{i}" for i in range(MESSAGES)]
    with trio.fail_after(TEST_DEADLINE):
        async with connect(redis_url) as client, subscription(client, channel) as pubsub:
            started = trio.current_time()
            async with client.pipeline(transaction=False) as pipe:
                for data in sent:
                    pipe.publish(channel, data)
            published = trio.current_time()
            # PUBLISH answers the number of subscribers that got the message: ours, only.
            assert pipe.results == (1,) * MESSAGES
            received = [await next_data(pubsub) for _ in sent]
            done = trio.current_time()
    assert received == sent
    log.info(
        "%d pipelined publishes: sent in %.1f ms, all received %.1f ms later",
        MESSAGES,
        (published - started) * 1000,
        (done - published) * 1000,
    )


# --- b. cancellation in the middle of a command ---------------------------------------------


async def test_a_cancelled_blocking_command_leaves_the_client_correct(redis_url: str) -> None:
    name = f"momentum-test-{uuid.uuid4().hex[:12]}"
    queue, key = unique("queue"), unique("key")
    with trio.fail_after(TEST_DEADLINE):
        async with connect(redis_url, client_name=name) as client:
            try:
                with trio.move_on_after(0.3) as waiting:
                    await client.blpop([queue], timeout=30)
                assert waiting.cancelled_caught
                # The same client answers, and each answer is its own command's.
                assert await client.ping() == "PONG"
                assert await client.set(key, "value")
                assert await client.get(key) == "value"
                assert await client.ping("echo") == "echo"
                # coredis runs a blocking command on a connection of its own and closes that
                # connection when the command is cancelled, so the server forgets the BLPOP:
                # nothing is left waiting on the queue to swallow the next element.
                while any(  # noqa: ASYNC110 - polling the server
                    other["name"] == name and other["cmd"] == "blpop"
                    for other in await client.client_list()
                ):
                    await trio.sleep(0.02)
                await client.rpush(queue, ["kept"])
                assert await client.lrange(queue, 0, -1) == ["kept"]
            finally:
                await client.delete([queue, key])


async def test_cancelled_multiplexed_commands_leave_every_reply_with_its_command(
    redis_url: str,
) -> None:
    # Non-blocking commands share connections (here the 100 readers share one); a cancelled
    # one stays queued on its connection and consumes its own reply when it comes. Cancelling
    # the readers after 0 to 9.5 ms left from 0 to 90 requests in flight (observed).
    values = {unique("key"): uuid.uuid4().hex for _ in range(100)}

    async def read_forever(client: coredis.Redis[str], key: str) -> None:
        while True:
            assert await client.get(key) == values[key]

    with trio.fail_after(TEST_DEADLINE):
        async with connect(redis_url) as client:
            try:
                # Mapping is invariant in its key type: a dict[str, str] is not a
                # Mapping[str | bytes, ...], so the argument is built with coredis's types.
                pairs: dict[KeyT, ValueT] = {key: value for key, value in values.items()}
                await client.mset(pairs)
                for round_ in range(20):
                    with trio.move_on_after(0.0005 * round_):
                        async with trio.open_nursery() as nursery:
                            for key in values:
                                nursery.start_soon(read_forever, client, key)
                got: dict[str, str | None] = {}

                async def read_once(key: str) -> None:
                    got[key] = await client.get(key)

                async with trio.open_nursery() as nursery:
                    for key in values:
                        nursery.start_soon(read_once, key)
                assert got == values
                assert await client.ping() == "PONG"
            finally:
                await client.delete(list(values))


# --- c. Redis restart ------------------------------------------------------------------------

# What coredis 6.9 does by itself when its Redis is killed (SIGKILL) and started again on the
# same port (observed on this machine, Redis 7.0, default PubSub retry policy):
# - The PubSub notices the lost connection at once and reconnects in the background with
#   exponential backoff (0.1 s base, up to 16 s, jittered), then subscribes again to its
#   channels. It recovered by itself in every trial: 10 of 10 fresh subscriptions after an
#   immediate restart (delivering again within 0.5 s of the restart, the probes' resolution),
#   5 of 5 after a 2 s outage (0.5 to 5.7 s after the restart).
# - The backoff never resets for the life of the PubSub: one subscription through 6
#   consecutive restarts delivered again 0.5, 0.5, 0.5, 0.5, 0.7 and 2.1 s after each
#   (another run, with 1 s outages: up to 8.7 s).
# - Nothing tells the consumer: `get_message()` just waits, and messages published before
#   the resubscription are lost (a probe published right after the restart was lost in 16 of
#   16 trials).
# - Leaving `async with pubsub` normally while it is reconnecting does not return (see
#   `subscription()`); with `retry_policy=None` the PubSub does not reconnect and its
#   `async with` raises an ExceptionGroup holding a ConnectionError instead.
# So Momentum cannot treat the old subscription as healthy: it detects the interruption and
# replaces the PubSub, and the replacement's `async with` returns only once Redis has
# acknowledged the subscription.

PROBE_TIMEOUT = 0.5


async def test_a_subscription_lost_in_a_restart_is_detected_and_replaced(
    redis_server_binary: str, tmp_path: Path
) -> None:
    server = PrivateRedis(redis_server_binary, tmp_path)
    channel = unique("channel")
    try:
        with trio.fail_after(TEST_DEADLINE):
            await server.start()
            async with connect(server.url) as client:
                async with subscription(client, channel) as old:
                    assert await delivers(client, old, channel, timeout=2)
                    subscribed_on = old.connection

                    await server.kill()
                    await server.start()

                    # Detection: the connection the subscription was made on is gone, so
                    # whatever was published meanwhile is lost. A probe is the check for a
                    # connection that stops delivering without closing; here it only shows
                    # whether coredis had already subscribed again by itself.
                    while subscribed_on.usable:  # noqa: ASYNC110 - coredis's reader notices
                        await trio.sleep(0.01)
                    delivered = await delivers(client, old, channel, PROBE_TIMEOUT)
                    log.info(
                        "after the restart the old subscription delivered a probe: %s", delivered
                    )
                # Replacement: a fresh PubSub on a fresh connection.
                with trio.fail_after(5):
                    async with subscription(client, channel) as fresh:
                        assert fresh.connection is not subscribed_on
                        assert await delivers(client, fresh, channel, timeout=1)
                        sent = [f"after-restart-{i}" for i in range(100)]
                        for data in sent:
                            # The old PubSub has left: exactly one subscriber.
                            assert await client.publish(channel, data) == 1
                        assert [await next_data(fresh) for _ in sent] == sent
    finally:
        await server.kill()
