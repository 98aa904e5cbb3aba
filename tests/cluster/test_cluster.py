"""Several Momentum processes as one server, over Redis: routing, cluster-wide state, and
what happens when a node or Redis fails.

Rules: real server processes (`python -m momentum serve`, three unless a test says so) on
free ports of 127.0.0.1, sharing a private redis-server and a PostgreSQL schema of the
test's own; real WebSocket and HTTP clients; the real clock (real Redis and PostgreSQL),
every test under `trio.fail_after`. `CLUSTER_NODE_TTL=3` (a heartbeat a second) keeps the
failure tests short. Counts that must be exact ("exactly once") are taken over a quiet
second after the last expected message.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import httpx
import pytest
import trio

from tests._private_redis import PrivateRedis

from ._nodes import (
    API_KEY,
    Cluster,
    Node,
    connect,
    create_users,
    get_json,
    open_cluster,
    until,
    wait_healthy,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


async def test_direct_and_broadcast_cross_nodes_exactly_once(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(60):
        async with open_cluster(private_redis.url, database_url, tmp_path, 3) as cluster:
            one, two, three = cluster.nodes
            alice, bob, carol = await create_users(one, 3)
            async with connect(one, alice) as a, connect(two, bob) as b, connect(three, carol) as c:
                await until(lambda: _online_count(three, 3))
                await a.send(message_type="text", data={"n": 1}, to_user_id=str(bob.id))
                ack = await a.receive_type("ack")
                assert ack["data"]["stored"] is True
                await a.send(message_type="text", data={"n": 2})
                got_b = await b.texts_within(1.5)
                got_c = await c.texts_within(0.5)
            assert sorted(m["data"]["n"] for m in got_b) == [1, 2]
            assert [m["data"]["n"] for m in got_c] == [2]
            assert got_b[0]["from_user_id"] == str(alice.id)
            async with httpx.AsyncClient() as http:
                metrics = (await http.get(one.http + "/metrics")).text.splitlines()
                health = (await http.get(one.http + "/health")).json()
            assert "momentum_broker_up 1.0" in metrics
            assert any(line.startswith("momentum_broker_published_total") for line in metrics)
            assert health["checks"]["broker"]["state"] == "up"


async def _online_count(node: Node, count: int) -> bool:
    return bool((await get_json(node, "/ws/online"))["count"] >= count)


async def test_online_stats_and_presence_are_cluster_wide(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(60):
        async with open_cluster(private_redis.url, database_url, tmp_path, 3) as cluster:
            one, two, three = cluster.nodes
            alice, bob, watcher = await create_users(one, 3)
            async with connect(three, watcher) as w:
                async with connect(one, alice), connect(two, alice), connect(two, bob):

                    async def alice_twice() -> bool:  # as of the nodes' heartbeats
                        online = await get_json(three, "/ws/online")
                        by_id = {u["id"]: u["connections"] for u in online["users"]}
                        return by_id.get(str(alice.id)) == 2 and online["count"] == 3

                    await until(alice_twice)

                    async def all_counted() -> object:  # other nodes: as of their heartbeat
                        stats = await get_json(one, "/ws/stats")
                        return stats if stats["total_connections"] == 4 else None

                    stats = await until(all_counted)
                    assert len(stats["nodes"]) == 3
                    assert stats["unique_users"] == 3
                    joined = await _presence(w, "user_joined", {str(alice.id), str(bob.id)})
                left = await _presence(w, "user_left", {str(alice.id), str(bob.id)})
            # once each, though alice had two connections on two nodes
            wanted = sorted({str(alice.id), str(bob.id)})
            assert sorted(u for u in joined if u != str(watcher.id)) == wanted
            assert sorted(left) == wanted


async def _online_with(node: Node, count: int) -> object:
    online = await get_json(node, "/ws/online")
    return online if online["count"] >= count else None


async def _presence(client: object, kind: str, wanted: set[str]) -> list[str]:
    """Every user announced in `kind` frames until all of `wanted` were (and a quiet 0.6 s
    more, to catch a second announcement)."""
    seen: list[str] = []
    assert hasattr(client, "receive")
    while not wanted <= set(seen):
        message = await client.receive()
        if message["message_type"] == kind:
            seen += [u["user_id"] for u in message["data"]["users"]]
    with trio.move_on_after(0.6):
        while True:
            message = await client.receive()
            if message["message_type"] == kind:
                seen += [u["user_id"] for u in message["data"]["users"]]
    return seen


async def test_disabling_a_user_closes_its_connections_on_every_node(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(60):
        async with open_cluster(private_redis.url, database_url, tmp_path, 3) as cluster:
            one, two, three = cluster.nodes
            (mallory,) = await create_users(one, 1)
            async with connect(one, mallory) as m1, connect(two, mallory) as m2:
                async with httpx.AsyncClient() as http:
                    reply = await http.patch(
                        f"{three.http}/users/{mallory.id}",
                        headers={"X-API-Key": API_KEY},
                        json={"is_active": False},
                    )
                assert reply.status_code == 200, reply.text
                assert await m1.wait_closed() == 4003
                assert await m2.wait_closed() == 4003


async def test_the_per_user_connection_limit_holds_across_nodes(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(60):
        async with open_cluster(
            private_redis.url, database_url, tmp_path, 3, WS_MAX_CONNECTIONS_PER_USER="2"
        ) as cluster:
            one, two, three = cluster.nodes
            (user,) = await create_users(one, 1)
            async with connect(one, user), connect(two, user):
                with pytest.raises(Exception) as refused:
                    async with connect(three, user):
                        pass
                assert getattr(refused.value, "status_code", None) == 429
            # the leases went back with the connections

            async def admitted_twice() -> bool:
                try:
                    async with connect(three, user), connect(three, user):
                        return True
                except Exception:
                    return False

            await until(admitted_twice, timeout=5)


async def test_a_killed_node_leaves_the_cluster_and_its_users_go_offline(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(60):
        async with open_cluster(private_redis.url, database_url, tmp_path, 3) as cluster:
            one, two, _ = cluster.nodes
            watcher, victim = await create_users(one, 2)
            async with connect(one, watcher) as w, connect(two, victim):
                await until(lambda: _online_with(one, 2))
                killed = trio.current_time()
                two.kill()
                left = await _presence(w, "user_left", {str(victim.id)})
            assert left == [str(victim.id)]
            assert trio.current_time() - killed < 3 * 3  # within a few TTLs

            async def two_nodes() -> bool:
                return len((await get_json(one, "/ws/stats"))["nodes"]) == 2

            await until(two_nodes)


async def test_a_message_stored_on_one_node_while_its_recipient_connects_to_another_arrives(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    # The recipient connects to node two while node one is storing messages for it: some
    # are published before node two subscribed; none may be missed.
    with trio.fail_after(90):
        async with open_cluster(private_redis.url, database_url, tmp_path, 2) as cluster:
            one, two = cluster.nodes
            for round_ in range(5):
                sender, recipient = await create_users(one, 2)
                async with connect(one, sender) as s:
                    async with trio.open_nursery() as nursery:

                        async def burst(to: str = str(recipient.id)) -> None:
                            for n in range(50):
                                await s.send(message_type="text", data={"n": n}, to_user_id=to)
                                await trio.sleep(0.002)

                        nursery.start_soon(burst)
                        await trio.sleep(0.01 * round_)
                        async with connect(two, recipient) as r:
                            got = await r.texts_within(3)
                    assert {m["data"]["n"] for m in got} == set(range(50)), round_


async def test_redis_restarted_mid_traffic_loses_no_stored_message(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(90):
        async with open_cluster(private_redis.url, database_url, tmp_path, 2) as cluster:
            one, two = cluster.nodes
            sender, recipient = await create_users(one, 2)
            async with connect(one, sender) as s, connect(two, recipient) as r:
                await until(lambda: _online_count(two, 2))
                await private_redis.kill()
                for n in range(10):  # Redis is down: stored, not relayed
                    await s.send(message_type="text", data={"n": n}, to_user_id=str(recipient.id))
                    assert (await s.receive_type("ack"))["data"]["stored"] is True
                await private_redis.start()
                got = await r.texts_within(8)  # caught up from the store once Redis is back
            assert {m["data"]["n"] for m in got} == set(range(10))


async def test_workers_share_one_port_and_stop_cleanly(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(90):
        async with open_cluster(private_redis.url, database_url, tmp_path, 0) as cluster:
            node = await cluster.start_workers(2)
            parent, log = node.process, node.log
            assert parent is not None
            try:
                await wait_healthy(node)
                users = await create_users(node, 6)

                async def two_nodes() -> bool:
                    return len((await get_json(node, "/ws/stats"))["nodes"]) == 2

                await until(two_nodes)
                async with connect(node, users[0]) as a, connect(node, users[1]) as b:
                    await a.send(message_type="text", data={"n": 7}, to_user_id=str(users[1].id))
                    got = await b.texts_within(1.5)
                    assert [m["data"]["n"] for m in got] == [7]
                parent.send_signal(signal.SIGTERM)
                assert await parent.wait() == 0, log.read_text()
            finally:
                node.kill()


async def test_a_node_starts_without_redis_reports_degraded_and_recovers(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    """Redis unreachable at start: the node serves, `/health` says 503 with the broker down,
    and once Redis answers it subscribes and reports healthy, without a restart."""
    with trio.fail_after(90):
        await private_redis.kill()
        cluster = Cluster(private_redis.url, database_url, tmp_path)
        try:
            node = await cluster.start_node(wait=False)
            async with httpx.AsyncClient() as http:

                async def degraded() -> bool:
                    try:
                        reply = await http.get(node.http + "/health")
                    except httpx.TransportError:
                        return False
                    broker = reply.json()["checks"]["broker"]
                    return reply.status_code == 503 and broker["status"] == "down"

                await until(degraded)
                await trio.sleep(2)  # it keeps serving while it retries
                assert await degraded()
                await private_redis.start()
                await wait_healthy(node, timeout=30)
                user, other = await create_users(node, 2)
                async with connect(node, user) as a, connect(node, other) as b:
                    await a.send(message_type="text", data={"n": 1}, to_user_id=str(other.id))
                    assert [m["data"]["n"] for m in await b.texts_within(1)] == [1]
        finally:
            await cluster.stop_all()


async def test_the_parent_restarts_a_crashed_worker_and_workers_never_outlive_it(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    with trio.fail_after(150):
        cluster = Cluster(private_redis.url, database_url, tmp_path)
        node = await cluster.start_workers(2)
        parent, log = node.process, node.log
        assert parent is not None
        try:
            await wait_healthy(node)  # three processes start on a busy machine
            pids = _worker_pids(log)
            assert len(pids) == 2
            os.kill(pids[0], signal.SIGKILL)

            async def replaced() -> bool:
                try:
                    stats = await get_json(node, "/ws/stats")
                except httpx.TransportError:  # a connection the dead worker had accepted
                    return False
                return len(_worker_pids(log)) == 3 and len(stats["nodes"]) == 2

            await until(replaced, timeout=30)  # restarted; the dead node's entry expired
            assert f"(pid {pids[0]}) exited with -9" in log.read_text()
            node.kill()  # the parent itself, with SIGKILL: it can pass nothing on
            workers = _worker_pids(log)[1:]

            async def workers_gone() -> bool:
                return not any(_running(pid) for pid in workers)

            await until(workers_gone, timeout=30)  # they notice and stop by themselves
            assert "the parent process (pid" in log.read_text()
        finally:
            node.kill()


def _running(pid: int) -> bool:
    """Is `pid` alive (a zombie, exited and not yet reaped by init, is not)?"""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def _worker_pids(log: Path) -> list[int]:
    """The pids of the workers the parent started, in order (from its log)."""
    return [int(pid) for pid in re.findall(r"worker \d+ started \(pid (\d+)\)", log.read_text())]
