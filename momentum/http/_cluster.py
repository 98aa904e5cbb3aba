"""What the HTTP API answers for the whole cluster: online users and statistics merged from
this node (fresh, from its hub) and the others (their last heartbeat, in Redis)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from actors import ActorError

from ..config import CALL_TIMEOUT
from ..hub import (
    GetOnlinePage,
    GetStats,
    OnlineIndex,
    OnlinePage,
    OnlineUser,
    all_online,
    page_of,
)
from ..protocol import ErrorCode
from ._common import ask
from ._errors import ApiError
from ._services import Services

log = logging.getLogger("momentum.http")


async def online_users(s: Services) -> list[OnlineUser]:
    try:
        local = await all_online(s.hub, call_timeout=CALL_TIMEOUT)
    except ActorError as exc:
        raise ApiError(
            503, ErrorCode.UNAVAILABLE, f"the server is busy or stopping ({exc})"
        ) from None
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


async def online_page(s: Services, after: uuid.UUID | None, limit: int) -> OnlinePage:
    """One page of `online_users`: this node's hub pages its own users; a cluster's list
    (merged from every node's listing in Redis) is paged here, off the hub."""
    if s.cluster is None:
        return await ask(s.hub, lambda reply: GetOnlinePage(after, limit, reply))
    merged = {u.user_id: u for u in await online_users(s)}
    return page_of(merged, OnlineIndex(list(merged)), after, limit, lambda _, user: user)


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
