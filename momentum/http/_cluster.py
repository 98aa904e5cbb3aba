"""What the HTTP API answers for the whole cluster: online users and statistics merged from
this node (fresh, from its hub) and the others (their last heartbeat, in Redis)."""

from __future__ import annotations

import logging
from typing import Any

from ..hub import GetOnline, GetStats, OnlineUser
from ..protocol import ErrorCode
from ._common import ask
from ._errors import ApiError
from ._services import Services

log = logging.getLogger("momentum.http")


async def online_users(s: Services) -> list[OnlineUser]:
    local = await ask(s.hub, GetOnline)
    if s.cluster is None:
        return local
    try:
        others = await s.cluster.registry.online(exclude=s.cluster.broker.node_id)
    except Exception as exc:
        raise cluster_unavailable(exc) from None
    merged = {u.user_id: u for u in others}
    for mine in local:
        other = merged.get(mine.user_id)
        if other is not None:
            since = min(mine.connected_since, other.connected_since)
            mine = OnlineUser(
                mine.user_id, mine.username, mine.connections + other.connections, since
            )
        merged[mine.user_id] = mine
    return list(merged.values())


async def statistics(s: Services) -> dict[str, Any]:
    snapshot = (await ask(s.hub, GetStats)).as_json()
    if s.cluster is None:
        return snapshot
    node_id = s.cluster.broker.node_id
    try:
        nodes = [n.as_json() for n in await s.cluster.registry.nodes() if n.id != node_id]
        unique_users = await s.cluster.registry.unique_users()
    except Exception as exc:
        raise cluster_unavailable(exc) from None
    here = {
        "id": node_id,
        "connections": snapshot["total_connections"],
        "users": snapshot["unique_users"],
        "uptime": snapshot["server_uptime"],
        "broker": s.cluster.broker.state,
        "this_node": True,
    }
    nodes.insert(0, here)
    snapshot["node_id"] = node_id
    snapshot["node_connections"] = snapshot["total_connections"]
    snapshot["total_connections"] = sum(int(n["connections"]) for n in nodes)
    snapshot["unique_users"] = unique_users
    snapshot["nodes"] = nodes
    return snapshot


def cluster_unavailable(exc: Exception) -> ApiError:
    log.warning("cluster state unavailable: %r", exc)
    return ApiError(503, ErrorCode.UNAVAILABLE, "the cluster state (Redis) is unavailable")
