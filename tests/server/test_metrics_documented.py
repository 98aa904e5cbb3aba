"""Every metric `/metrics` exposes is documented in docs/operations.md, and nothing else is;
the example Grafana dashboard (docs/grafana-dashboard.json) queries only those metrics.

Rules: a real server on port 0 (no broker: the `REDIS_URL` metrics come from rendering the
registry with broker figures given); the documented list is read from the metrics table of
docs/operations.md, the exposed one from the `# TYPE` lines of the scrape. No clock needed
beyond an outer `trio.fail_after`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import trio

from momentum.hub import HubStats
from momentum.observability import Metrics

from ._live import LiveServer

DOCS = Path(__file__).resolve().parents[2] / "docs"
_NAME = re.compile(r"momentum_[a-z0-9_]+")
_TYPE = re.compile(r"^# TYPE (\S+) (\S+)$", re.MULTILINE)


def documented() -> dict[str, bool]:
    """The metrics table's names, each with: is it only there with `REDIS_URL`?"""
    text = (DOCS / "operations.md").read_text()
    table = text[text.index("### Metrics") :]
    names: dict[str, bool] = {}
    for line in table.splitlines():
        if not line.startswith("| `momentum_"):
            continue
        first, *rest = line.split("|")[1:]
        for name in _NAME.findall(first):
            names[name] = "with `REDIS_URL`" in "|".join(rest)
    return names


def exposed(scrape: str) -> dict[str, str]:
    """Metric family names and their types, from a Prometheus text scrape."""
    return dict(_TYPE.findall(scrape))


@dataclass(frozen=True)
class _Broker:
    state: str = "up"
    lag: float | None = 0.001
    published: int = 0
    received: int = 0
    dropped: int = 0
    resubscribes: int = 0


async def test_the_documented_metrics_are_exactly_those_exposed(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.http() as http:
            scrape = (await http.get("/metrics")).text
    docs = documented()
    standalone = exposed(scrape)
    assert set(standalone) == {name for name, cluster_only in docs.items() if not cluster_only}
    assert all(name.startswith("momentum_") for name in standalone)
    for name, kind in standalone.items():
        assert (kind == "counter") == name.endswith("_total"), name
        if "latency" in name:
            assert kind == "histogram" and name.endswith("_seconds"), name


def test_the_cluster_metrics_are_exposed_with_a_broker() -> None:
    stats = HubStats(0, 0, 0, "redis", 0, 0, 0, 0, {}, 0, {}, {}, 0, 0.0, 0.0)
    scrape = Metrics().render(stats, {}, _Broker()).decode()
    assert set(exposed(scrape)) == set(documented())


def expressions(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for value in node.values() for e in expressions(value)]
    if isinstance(node, list):
        return [e for value in node for e in expressions(value)]
    return []


def test_the_grafana_dashboard_queries_only_documented_metrics() -> None:
    dashboard = orjson.loads((DOCS / "grafana-dashboard.json").read_bytes())
    queries = expressions(dashboard["panels"])
    assert len(queries) >= 10
    docs = documented()
    histograms = {name for name in docs if name.endswith("_seconds") and "latency" in name}
    for query in queries:
        for name in _NAME.findall(query):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            assert name in docs or base in histograms, f"{name} in {query!r}"
