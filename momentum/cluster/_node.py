"""What one node runs to be part of a cluster: the broker and the registry, on one Redis
client, and where what arrives from the other nodes goes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import coredis
import trio

from actors import ActorRef, ChildSpec

from .. import __version__
from ..auth import Revocations
from ..config import CALL_TIMEOUT
from ..hub import CatchUp, Disconnect, Forward, HubMsg, RevokeTokens, RoomRevoke, SetUserActive
from ..janitor import JanitorMsg, RunNow
from ._broker import RedisBroker
from ._registry import Registry
from ._room_roster import RoomRoster

log = logging.getLogger("momentum.cluster")

#: Seconds a Redis command or connect may take before it counts as failed.
REDIS_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class _LocalActors:
    """`BrokerSink`: the frames and commands of the other nodes, to this node's actors."""

    hub: ActorRef[HubMsg]
    janitor: ActorRef[JanitorMsg]
    revocations: Revocations

    async def forward(self, topic: str, frame: bytes, kind: str) -> None:
        await self.hub.cast(Forward(topic, frame, kind))

    async def catch_up(self) -> None:
        await self.hub.cast(CatchUp())

    async def control(self, command: dict[str, Any]) -> None:
        op = command.get("op")
        try:
            if op in ("disable", "enable"):
                user_id = uuid.UUID(str(command.get("user_id")))
                await self.hub.cast(SetUserActive(user_id, op == "enable", None))
            elif op == "disconnect":
                await self.hub.cast(Disconnect(uuid.UUID(str(command.get("user_id"))), None))
            elif op == "revoke":
                await self._revoke(command)
            elif op == "cleanup":
                await self.janitor.cast(RunNow(None))
            elif op == "room_revoke":
                await self.hub.cast(room_revoke(command))
            else:
                log.warning("ignored an unknown cluster command %r", op)
        except (ValueError, TypeError):
            log.warning("ignored a malformed cluster command %r", command)

    async def _revoke(self, command: dict[str, Any]) -> None:
        """Another node revoked a token (logout) or a user's earlier tokens (password)."""
        user_id = uuid.UUID(str(command.get("user_id")))
        jti, session = command.get("jti"), command.get("session")
        before_ms, exp = int(command.get("before_ms") or 0), float(command.get("exp") or 0)
        if jti is not None:
            self.revocations.revoke(str(jti), exp)
        if session is not None:
            self.revocations.revoke_session(str(session), exp)
        if before_ms:
            self.revocations.revoke_before(user_id, before_ms)
        jti, session = (None if v is None else str(v) for v in (jti, session))
        await self.hub.cast(RevokeTokens(user_id, jti, before_ms, session))


def room_revoke(command: dict[str, Any]) -> RoomRevoke:
    """The `room_revoke` command another node sent (see `room_revoke_command`) for this
    node's hub; `ValueError` or `TypeError` if it is malformed."""
    user_id = command.get("user_id")
    return RoomRevoke(
        uuid.UUID(str(command.get("room_id"))),
        str(command.get("reason") or "removed"),
        None if user_id is None else uuid.UUID(str(user_id)),
    )


def room_revoke_command(revoke: RoomRevoke) -> dict[str, Any]:
    """A revocation made on this node, for the others (`publish_control`)."""
    user_id = None if revoke.user_id is None else str(revoke.user_id)
    return {
        "op": "room_revoke",
        "room_id": str(revoke.room_id),
        "reason": revoke.reason,
        "user_id": user_id,
    }


@dataclass(frozen=True)
class ClusterNode:
    """This node's broker, registry and room roster, and the children that run them."""

    broker: RedisBroker
    registry: Registry
    roster: RoomRoster
    sink: _LocalActors

    def broker_spec(self) -> ChildSpec[None]:
        return ChildSpec("broker", partial(self.broker.serve, self.sink))

    def registry_spec(self) -> ChildSpec[None]:
        return ChildSpec("registry", self.registry.serve)

    def roster_spec(self) -> ChildSpec[None]:
        return ChildSpec("room-roster", self.roster.serve)


@asynccontextmanager
async def open_cluster(
    url: str,
    *,
    hub: ActorRef[HubMsg],
    janitor: ActorRef[JanitorMsg],
    revocations: Revocations,
    node_ttl: float,
    presence_interval: float,
) -> AsyncIterator[ClusterNode]:
    """A node of the cluster on `url` (Redis need not answer yet: the node starts degraded
    and connects when it does)."""
    async with redis_client(url) as client:
        broker = RedisBroker(client, uuid.uuid4().hex)
        registry = Registry(
            client,
            broker,
            hub,
            version=__version__,
            ttl=node_ttl,
            heartbeat=node_ttl / 3,
            presence_interval=presence_interval,
            call_timeout=CALL_TIMEOUT,
        )
        roster = RoomRoster(client, broker, hub, interval=presence_interval)
        log.info("cluster node %s on %s", broker.node_id, _redacted(url))
        yield ClusterNode(broker, registry, roster, _LocalActors(hub, janitor, revocations))
        await trio.lowlevel.checkpoint()


def redis_client(url: str, *, timeout: float = REDIS_TIMEOUT) -> coredis.Redis[bytes]:
    """A client whose commands and connects fail after `timeout` instead of hanging on a
    Redis that went silent (a partition, a failover): the caller then reconnects."""
    return coredis.Redis.from_url(
        url, decode_responses=False, stream_timeout=timeout, connect_timeout=timeout
    )


def _redacted(url: str) -> str:
    """The URL without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "…@" + rest.split("@", 1)[1]
    return scheme + sep + rest
