"""The cluster's shared state in Redis: which nodes are alive, who is online where, who came
online or went offline anywhere, and each user's connection leases.

- **Nodes.** Every `heartbeat` a node writes its record (`momentum:node:<id>`: host, pid,
  version, uptime, connections, users, broker state) with a TTL of `ttl`, and the list of
  its users (`momentum:node:<id>:users`). A node killed with SIGKILL stops refreshing: its
  record expires, and the first survivor to notice (a `SET NX` lock decides who) reaps it:
  its users are counted offline (announced `user_left` where it held their last
  connection) and its entries deleted. A node that stops cleanly reaps itself.
- **Presence, once per cluster.** The hub reports a user's first connection on this node
  and the last one leaving (`PresenceSink`); every presence interval the registry counts
  them in `momentum:online` (user → number of nodes holding the user), one script call for
  up to `COUNT_BATCH` users: a user counted from 0 to 1 came online, from 1 to 0 went
  offline. Those are announced once, by the node that saw the change, to everyone
  (coalesced like a single node's presence).
- **Leases.** `WS_MAX_CONNECTIONS_PER_USER` holds across the cluster: a connection takes a
  lease (`momentum:leases:<user>`, a set of `<node>:<lease>`) before it is accepted; a lease
  counts only while its node's record exists, so a dead node's leases vanish with it.

Every read or write here is a plain Redis command; nothing blocks the hub (it reports
presence into a dict this object owns, and reads nothing back).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

import coredis
import orjson
import trio
from coredis.tokens import PureToken

from actors import ActorRef

from ..broker import BROADCAST, PRESENCE
from ..hub import Forward, GetStats, HubMsg, OnlineUser, all_online
from ..hub._presence import PresenceBatch
from ..protocol import text_frame
from ._broker import BACKOFF, RedisBroker
from ._channels import NODES, ONLINE, PREFIX, leases_key, node_key, node_users_key

log = logging.getLogger("momentum.cluster")

#: Count nodes in and out of `momentum:online` for many users in one round trip: ARGV holds
#: (user, +1 or -1) pairs; the answer holds, per pair, 1 if that user came online in the whole
#: cluster (0 → 1), -1 if it went offline everywhere (→ 0), else 0.
COUNT_SCRIPT = """
local changed = {}
for i = 1, #ARGV, 2 do
  local delta = tonumber(ARGV[i + 1])
  local n = redis.call('HINCRBY', KEYS[1], ARGV[i], delta)
  if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[i]) end
  if delta > 0 and n == 1 then
    changed[#changed + 1] = 1
  elseif delta < 0 and n <= 0 then
    changed[#changed + 1] = -1
  else
    changed[#changed + 1] = 0
  end
end
return changed
"""
#: Users counted in one script call (a script blocks Redis while it runs).
COUNT_BATCH = 1000

_LEASE = """
local alive = 0
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local node = string.match(member, '^([^:]+):')
  if node and redis.call('EXISTS', ARGV[3] .. node) == 1 then
    alive = alive + 1
  else
    redis.call('SREM', KEYS[1], member)
  end
end
if alive >= tonumber(ARGV[1]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[2])
return 1
"""


@dataclass(frozen=True, slots=True)
class NodeInfo:
    id: str
    host: str
    pid: int
    version: str
    started_at: str
    uptime: int
    connections: int
    users: int
    broker: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "version": self.version,
            "started_at": self.started_at,
            "uptime": self.uptime,
            "connections": self.connections,
            "users": self.users,
            "broker": self.broker,
        }


class Registry:
    """This node's part of the cluster state (see the module docstring)."""

    def __init__(
        self,
        client: coredis.Redis[bytes],
        broker: RedisBroker,
        hub: ActorRef[HubMsg],
        *,
        version: str,
        ttl: float,
        heartbeat: float,
        presence_interval: float,
        call_timeout: float,
    ) -> None:
        self._client = client
        self._broker = broker
        self._hub = hub
        self.node_id = broker.node_id
        self._version = version
        self._ttl = ttl
        self._heartbeat = heartbeat
        self._presence_interval = presence_interval
        self._call_timeout = call_timeout
        self._host = socket.gethostname()
        self._started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._started = trio.current_time()
        #: presence changes since the last flush: user → (net change on this node, name)
        self._changes: dict[uuid.UUID, tuple[int, str]] = {}
        self._count = client.register_script(COUNT_SCRIPT)
        self._lease = client.register_script(_LEASE)
        self._released: list[tuple[uuid.UUID, str]] = []
        self._release_wanted = trio.Event()
        self._known: set[str] | None = None  # the other nodes at the last beat

    # -- the hub's side (PresenceSink): never blocks ---------------------------------------------

    def user_online(self, user_id: uuid.UUID, username: str) -> None:
        self._change(user_id, username, +1)

    def user_offline(self, user_id: uuid.UUID, username: str) -> None:
        self._change(user_id, username, -1)

    def _change(self, user_id: uuid.UUID, username: str, delta: int) -> None:
        before = self._changes.get(user_id, (0, username))[0]
        self._changes[user_id] = (before + delta, username)

    # -- leases (connections, during their handshake) ------------------------------------------

    async def acquire_lease(self, user_id: uuid.UUID, limit: int) -> str | None:
        """A lease for one more connection of `user_id`, None past `limit`. Redis errors
        propagate (the caller decides: Momentum admits, per-node limits hold)."""
        member = f"{self.node_id}:{secrets.token_hex(6)}"
        took = await self._lease.execute(
            keys=[leases_key(user_id)], args=[limit, member, f"{PREFIX}node:"]
        )
        return member if took else None

    def release_lease(self, user_id: uuid.UUID, lease: str) -> None:
        """Give a lease back (written by the registry's task at once, never blocking)."""
        self._released.append((user_id, lease))
        self._release_wanted.set()

    # -- queries (HTTP handlers) ------------------------------------------------------------------

    async def nodes(self) -> list[NodeInfo]:
        ids = sorted(i.decode() for i in await self._client.smembers(NODES))
        if not ids:
            return []
        records = await self._client.mget([node_key(i) for i in ids])
        found = []
        for record in records:
            if record is not None:
                found.append(NodeInfo(**orjson.loads(record)))
        return found

    async def online(self, *, exclude: str | None = None) -> list[OnlineUser]:
        """Every user online anywhere, merged across the live nodes (but `exclude`)."""
        merged: dict[uuid.UUID, OnlineUser] = {}
        for node in await self.nodes():
            if node.id == exclude:
                continue
            for raw_id, raw in (await self._client.hgetall(node_users_key(node.id))).items():
                user_id = uuid.UUID(raw_id.decode())
                name, count, since = raw.decode().split("\t")
                known = merged.get(user_id)
                if known is not None:
                    count = str(int(count) + known.connections)
                    since = min(since, known.connected_since)
                merged[user_id] = OnlineUser(user_id, name, int(count), since)
        return list(merged.values())

    async def unique_users(self) -> int:
        return int(await self._client.hlen(ONLINE))

    # -- the registry's task ----------------------------------------------------------------------

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Heartbeat, presence and reaping until cancelled; then leave the cluster cleanly."""
        with trio.move_on_after(self._call_timeout):
            await self._guarded(self._beat)  # registered before the first connection
        task_status.started()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._every, self._heartbeat, self._beat)
                nursery.start_soon(self._every, self._presence_interval, self._flush_presence)
                nursery.start_soon(self._serve_releases)
                await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(self._call_timeout):
                await self._guarded(self._flush_presence)
                await self._guarded(lambda: self._reap(self.node_id))

    async def _every(self, period: float, work: Callable[[], Awaitable[None]]) -> NoReturn:
        while True:
            pause = await self._guarded(work) or period
            await trio.sleep(pause)

    async def _guarded(self, work: Callable[[], Awaitable[None]]) -> float | None:
        """Run `work`; a Redis failure is logged and retried sooner (the node stays up)."""
        try:
            await work()
        except Exception as exc:
            log.warning("cluster registry: %r (retrying)", exc)
            return BACKOFF[1]
        return None

    async def _beat(self) -> None:
        stats = await self._hub.call(GetStats, timeout=self._call_timeout)
        users = await all_online(self._hub, call_timeout=self._call_timeout)
        info = NodeInfo(
            self.node_id,
            self._host,
            os.getpid(),
            self._version,
            self._started_at,
            int(trio.current_time() - self._started),
            stats.total_connections,
            stats.unique_users,
            self._broker.state,
        )
        listing = {
            str(u.user_id): f"{u.username}\t{u.connections}\t{u.connected_since}" for u in users
        }
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.set(node_key(self.node_id), orjson.dumps(info.as_json()), px=int(self._ttl * 1000))
            pipe.sadd(NODES, [self.node_id])
            pipe.delete([node_users_key(self.node_id)])
            if listing:
                pipe.hset(node_users_key(self.node_id), listing)
        await self._reap_the_dead()

    async def _serve_releases(self) -> NoReturn:
        while True:
            await self._release_wanted.wait()
            self._release_wanted = trio.Event()
            released, self._released = self._released, []
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for user_id, lease in released:
                        pipe.srem(leases_key(user_id), [lease])
            except Exception as exc:  # the lease dies with this node's record at worst
                log.warning("could not give back %d lease(s): %r", len(released), exc)

    async def _reap_the_dead(self) -> None:
        ids = [i.decode() for i in await self._client.smembers(NODES)]
        self._note_members({i for i in ids if i != self.node_id})
        for node_id in ids:
            if node_id == self.node_id or await self._client.exists([node_key(node_id)]):
                continue
            won = await self._client.set(
                f"{PREFIX}reap:{node_id}",
                self.node_id,
                condition=PureToken.NX,
                px=int(self._ttl * 4000),
            )
            if won:
                log.info("node %s stopped answering: removing its users", node_id)
                await self._reap(node_id)

    def _note_members(self, others: set[str]) -> None:
        """One INFO line per node that joined or left since the last beat."""
        if self._known is None:
            for node_id in sorted(others):
                log.info("node %s is in the cluster", node_id)
        else:
            for node_id in sorted(others - self._known):
                log.info("node %s joined the cluster", node_id)
            for node_id in sorted(self._known - others):
                log.info("node %s left the cluster", node_id)
        self._known = others

    async def _reap(self, node_id: str) -> None:
        """Count a gone node's users offline (announcing the ones it held last), forget it."""
        listing = await self._client.hgetall(node_users_key(node_id))
        changes = {
            uuid.UUID(raw_id.decode()): (-1, raw.decode().split("\t")[0])
            for raw_id, raw in listing.items()
        }
        gone = PresenceBatch()
        await self._count_nodes(changes, gone)
        await self._announce(gone)
        await self._client.delete([node_users_key(node_id), node_key(node_id)])
        await self._client.srem(NODES, [node_id])

    async def _flush_presence(self) -> None:
        changes, self._changes = self._changes, {}
        batch = PresenceBatch()
        try:
            await self._count_nodes(changes, batch)
        finally:
            for user_id, (delta, name) in changes.items():  # not counted: next time
                self._change(user_id, name, delta)
            await self._announce(batch)

    async def _count_nodes(
        self, changes: dict[uuid.UUID, tuple[int, str]], batch: PresenceBatch
    ) -> None:
        """Count this node in or out for each changed user, a script call per `COUNT_BATCH`
        users (each call all or nothing), taking the counted ones out of `changes`; who came
        online or went offline cluster-wide goes into `batch`."""
        moved = [(user_id, delta, name) for user_id, (delta, name) in changes.items() if delta]
        for user_id in [user_id for user_id, (delta, _) in changes.items() if not delta]:
            del changes[user_id]
        for start in range(0, len(moved), COUNT_BATCH):
            chunk = moved[start : start + COUNT_BATCH]
            args: list[str | int] = []
            for user_id, delta, _ in chunk:
                args += [str(user_id), 1 if delta > 0 else -1]
            counted = await self._count.execute(keys=[ONLINE], args=args)
            for (user_id, _, name), change in zip(chunk, counted, strict=True):  # type: ignore[arg-type]
                del changes[user_id]
                if change == 1:
                    batch.joined(user_id, name)
                elif change == -1:
                    batch.left(user_id, name)

    async def _announce(self, batch: PresenceBatch) -> None:
        for envelope in batch.flush():
            frame = text_frame(envelope)
            self._broker.publish(BROADCAST, frame, PRESENCE)
            await self._hub.cast(Forward(BROADCAST, frame, PRESENCE))
