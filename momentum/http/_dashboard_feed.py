"""What the dashboard shows, pushed once a second: `GET /dashboard/api/events` (SSE).

Each event is one JSON snapshot built from what `/ws/stats`, `/health` and `/metrics` read
(the hub's statistics merged over the cluster, the store's and broker's state, the
close and refusal counters) and this node's busiest rooms, plus what the stream computes
itself: per-second rates by message type (from the previous snapshot it sent), delivery
latency percentiles and errors over the last minutes (`_dashboard_recent`).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
import trio

from .. import __version__
from ..cluster import BrokerStatistics
from ..hub import GetBusiestRooms, RoomFigures
from ..storage import StorageError
from ._cluster import statistics
from ._common import ask
from ._dashboard_recent import RecentFigures, Totals, by_label, totals
from ._dashboard_session import verify_session
from ._errors import ApiError
from ._services import Services

FEED_INTERVAL = 1.0
#: How long a snapshot waits for the store's probe before calling it down.
STORE_PROBE_TIMEOUT = 2.0


async def snapshot(s: Services, recent: RecentFigures) -> dict[str, Any]:
    """The whole picture now (rates by type are added by `stream`)."""
    stats = await statistics(s)
    busiest = await ask(s.hub, GetBusiestRooms)
    store = await _store_state(s)
    broker = s.cluster.broker.statistics() if s.cluster is not None else None
    nodes = stats.pop("nodes", None) or [
        {
            "id": "this process",
            "connections": stats["total_connections"],
            "users": stats["unique_users"],
            "uptime": stats["server_uptime"],
            "broker": stats["broker"],
            "this_node": True,
        }
    ]
    for node in nodes:
        if node.get("this_node"):
            node.update(host=socket.gethostname(), version=__version__, store=store)
    return {
        "at": trio.current_time(),
        "connections": stats["total_connections"],
        "users": stats["unique_users"],
        "nodes": nodes,
        "store": {"backend": s.store.backend, "state": store, "backlog": s.writer_backlog()},
        "broker": None
        if broker is None
        else {"state": broker.state, "lag_seconds": broker.lag, "dropped": broker.dropped},
        "messages_in": stats["messages_by_type"],
        "messages_out": stats["deliveries_by_type"],
        "closes": by_label(s.metrics.closes, "code"),
        "refusals": by_label(s.metrics.handshake_failures, "reason"),
        "slow_consumer_closes": stats["drops"].get("slow_consumer", 0),
        "draining": not s.is_ready(),
        "rooms": {
            "by_subscribers": [_room(r) for r in busiest.by_subscribers],
            "by_messages": [_room(r) for r in busiest.by_messages],
        },
        **recent.add(trio.current_time(), _totals(s, stats["hub_errors"], broker)),
    }


def _totals(s: Services, hub_errors: int, broker: BrokerStatistics | None) -> Totals:
    failures = 0 if broker is None else broker.dropped + broker.resubscribes
    return totals(s.metrics, hub_errors, s.restarts(), failures)


def _room(figures: RoomFigures) -> dict[str, Any]:
    return {
        "id": str(figures.room_id),
        "subscribers": figures.subscribers,
        "messages_per_second": figures.messages_per_second,
    }


def per_second(
    now: Mapping[str, int], before: Mapping[str, int], seconds: float
) -> dict[str, float]:
    """Each type's count per second between two snapshots `seconds` apart."""
    if seconds <= 0:
        return {}
    return {
        kind: round((count - before.get(kind, 0)) / seconds, 2)
        for kind, count in sorted(now.items())
        if count > before.get(kind, 0)
    }


async def stream(s: Services, token: str) -> AsyncIterator[bytes]:
    """SSE frames until the session ends or the server drains (then the page reconnects)."""
    previous: dict[str, Any] | None = None
    recent = RecentFigures()
    while s.is_ready():
        try:
            await verify_session(s, token)
            current = await snapshot(s, recent)
        except ApiError as exc:
            if exc.status in (401, 403):
                yield _frame("signed_out", {"message": exc.message})
                return
            yield _frame("unavailable", {"message": exc.message})
        else:
            if previous is not None:
                seconds = current["at"] - previous["at"]
                for side in ("messages_in", "messages_out"):
                    current[f"{side}_per_second"] = per_second(
                        current[side], previous[side], seconds
                    )
            previous = current
            yield _frame("snapshot", current)
        await trio.sleep(FEED_INTERVAL)


def _frame(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _store_state(s: Services) -> str:
    with trio.move_on_after(STORE_PROBE_TIMEOUT):
        try:
            await s.store.check()
        except StorageError:
            return "down"
        return "ok"
    return "down"
