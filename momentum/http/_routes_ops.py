"""`/health` and `/metrics`: for load balancers and Prometheus."""

from __future__ import annotations

import hmac
from typing import Any

import trio
from quart import Blueprint, Response, request

from actors import ActorError

from ..hub import GetStats
from ..observability import CONTENT_TYPE
from ..storage import StorageError
from ._auth import require_admin
from ._common import ask, services
from ._errors import json_response

blueprint = Blueprint("ops", __name__)

_PROBE_TIMEOUT = 2.0


@blueprint.get("/health")
async def health() -> Response:
    s = services()
    checks: dict[str, dict[str, Any]] = {}
    try:
        await s.store.check()
        checks["database"] = {"status": "ok", "backend": s.store.backend}
    except StorageError as exc:
        checks["database"] = {"status": "down", "backend": s.store.backend, "error": str(exc)}
    try:
        stats = await s.hub.call(GetStats, timeout=_PROBE_TIMEOUT)
        checks["hub"] = {"status": "ok", "connections": stats.total_connections}
    except ActorError as exc:
        checks["hub"] = {"status": "down", "error": str(exc)}
    if s.cluster is not None:
        broker = s.cluster.broker.statistics()
        checks["broker"] = {
            "status": "ok" if broker.state == "up" else "down",
            "state": broker.state,
            "node_id": s.cluster.broker.node_id,
            "lag_seconds": broker.lag,
        }
    ready = s.is_ready() and all(c["status"] == "ok" for c in checks.values())
    status = "ok" if ready else ("stopping" if not s.is_ready() else "degraded")
    return json_response({"status": status, "checks": checks}, 200 if ready else 503)


@blueprint.get("/ready")
async def ready() -> Response:
    """Readiness: should a load balancer send new clients here? Not while draining, nor
    while the store or (in a cluster) the broker cannot be reached."""
    s = services()
    problems: list[str] = []
    if not s.is_ready():
        problems.append("draining")
    with trio.move_on_after(_PROBE_TIMEOUT) as probe:
        try:
            await s.store.check()
        except StorageError:
            problems.append("store unreachable")
    if probe.cancelled_caught:
        problems.append("store unreachable")
    if s.cluster is not None and s.cluster.broker.statistics().state != "up":
        problems.append("broker unreachable")
    if problems:
        return json_response({"status": "not_ready", "problems": problems}, 503)
    return json_response({"status": "ready"})


@blueprint.get("/metrics")
async def metrics() -> Response:
    s = services()
    if not _holds_metrics_token(s.settings.metrics_token) and (
        s.settings.metrics_require_key or s.settings.metrics_token is not None
    ):
        await require_admin(s)
    snapshot = await ask(s.hub, GetStats, timeout=_PROBE_TIMEOUT)
    broker = s.cluster.broker.statistics() if s.cluster is not None else None
    rendered = s.metrics.render(snapshot, s.restarts(), broker)
    return Response(rendered, content_type=CONTENT_TYPE)


def _holds_metrics_token(expected: str | None) -> bool:
    """Does the request carry `Authorization: Bearer <METRICS_TOKEN>`?"""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if expected is None or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())
