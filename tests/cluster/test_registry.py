"""The registry's presence counting against a real Redis of the test's own: who came online
or went offline cluster-wide, decided in one script call per batch of users.

Needs the redis-server binary (skipped with that reason without it).
"""

from __future__ import annotations

import uuid
from typing import Any

import coredis
import orjson
import trio

from actors import Mailbox, open_mailbox
from momentum.cluster import RedisBroker, redis_client
from momentum.cluster._registry import Registry
from momentum.hub import Forward, HubMsg
from momentum.protocol import text_payload_offset
from tests._private_redis import PrivateRedis


def _registry(client: coredis.Redis[bytes], node: str) -> tuple[Registry, Mailbox[HubMsg]]:
    hub, inbox = open_mailbox[HubMsg]("hub", 100)
    registry = Registry(
        client,
        RedisBroker(client, node),
        hub,
        version="test",
        ttl=30,
        heartbeat=10,
        presence_interval=0.5,
        call_timeout=5,
    )
    return registry, inbox


def _announced(inbox: Mailbox[HubMsg]) -> list[tuple[str, list[str]]]:
    """(message_type, usernames) of each presence frame the registry handed the hub."""
    found: list[tuple[str, list[str]]] = []
    while True:
        try:
            message = inbox.receive_nowait()
        except trio.WouldBlock:
            return found
        assert isinstance(message, Forward)
        envelope = orjson.loads(message.frame[text_payload_offset(message.frame) :])
        names = [u["username"] for u in envelope["data"]["users"]]
        found.append((envelope["message_type"], sorted(names)))


class CountedCommands:
    """Counts the commands a coredis client sends (a script call counts once)."""

    def __init__(self, client: coredis.Redis[bytes]) -> None:
        self.count = 0
        send = client.execute_command

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return send(*args, **kwargs)

        client.execute_command = counted  # type: ignore[method-assign]


async def test_many_users_are_counted_in_one_round_trip_and_announced_once(
    private_redis: PrivateRedis,
) -> None:
    users = [(uuid.uuid4(), f"user{i}") for i in range(50)]
    with trio.fail_after(10):
        async with redis_client(private_redis.url) as client:
            a, a_inbox = _registry(client, "node-a")
            b, b_inbox = _registry(client, "node-b")
            for user_id, name in users:
                a.user_online(user_id, name)
            commands = CountedCommands(client)
            await a._flush_presence()
            # 50 users counted in one script call (plus loading the script, the first time)
            assert commands.count <= 3, commands.count
            assert _announced(a_inbox) == [("user_joined", sorted(n for _, n in users))]
            # The same users on a second node: not new to the cluster, nothing announced.
            for user_id, name in users:
                b.user_online(user_id, name)
            await b._flush_presence()
            assert _announced(b_inbox) == []
            # Leaving node A leaves them on B: still online; leaving B too: gone.
            for user_id, name in users:
                a.user_offline(user_id, name)
            await a._flush_presence()
            assert _announced(a_inbox) == []
            for user_id, name in users[:10]:
                b.user_offline(user_id, name)
            await b._flush_presence()
            assert _announced(b_inbox) == [("user_left", sorted(n for _, n in users[:10]))]
