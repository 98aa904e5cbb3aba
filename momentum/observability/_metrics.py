"""Prometheus metrics (docs/operations.md lists them; a test keeps the list exact).

One naming scheme: `momentum_` first, the unit last when there is one (`_seconds`), counters
ending in `_total`, latencies as histograms.

Hot-path numbers (messages, deliveries, drops) are plain integers kept by the hub; a custom
collector turns the hub's latest statistics into metric families at scrape time, so a
message costs no metric-library call. Rare events (refused handshakes) and the delivery
latency histogram use prometheus-client directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..hub import HubStats
from ..protocol import CloseCode
from ._activity import Activity

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# No `*_created` gauge beside each counter and histogram: one series per documented metric.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus-client

_KNOWN_CLOSES = frozenset(int(code) for code in CloseCode) | {1002, 1006}

_LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)


_TASK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)


class BrokerFigures(Protocol):
    """The broker's statistics, as `/metrics` reads them (a cluster's `BrokerStatistics`)."""

    @property
    def state(self) -> str: ...
    @property
    def lag(self) -> float | None: ...
    @property
    def published(self) -> int: ...
    @property
    def received(self) -> int: ...
    @property
    def dropped(self) -> int: ...
    @property
    def resubscribes(self) -> int: ...


def _broker_metrics(b: BrokerFigures) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "momentum_broker_up", "1 while the Redis subscription is up.", value=b.state == "up"
    )
    if b.lag is not None:
        yield GaugeMetricFamily(
            "momentum_broker_lag_seconds", "Round trip of the last broker probe.", value=b.lag
        )
    for name, value, text in (
        ("published", b.published, "Frames published to other nodes."),
        ("received", b.received, "Frames received from other nodes."),
        ("dropped", b.dropped, "Frames that could not be published (queue full, Redis down)."),
        ("resubscribes", b.resubscribes, "Subscriptions replaced after an interruption."),
    ):
        yield CounterMetricFamily(f"momentum_broker_{name}", text, value=value)


class _HubCollector(Collector):
    def __init__(self) -> None:
        self.snapshot: HubStats | None = None
        self.restarts: Mapping[str, int] = {}
        self.broker: BrokerFigures | None = None

    def collect(self) -> Iterator[Metric]:
        restarts = CounterMetricFamily(
            "momentum_actor_restarts",
            "Restarts of a supervised actor after a crash, by actor.",
            labels=["actor"],
        )
        for actor, count in sorted(self.restarts.items()):
            restarts.add_metric([actor], count)
        yield restarts
        if self.broker is not None:
            yield from _broker_metrics(self.broker)
        s = self.snapshot
        if s is None:
            return
        yield GaugeMetricFamily(
            "momentum_connections", "Open WebSocket connections.", value=s.total_connections
        )
        yield GaugeMetricFamily("momentum_users", "Users online.", value=s.unique_users)
        yield CounterMetricFamily(
            "momentum_connections_opened", "Connections accepted.", value=s.connections_opened
        )
        received = CounterMetricFamily(
            "momentum_messages_received",
            "Messages accepted from clients and the API.",
            labels=["type"],
        )
        for kind, count in s.messages_by_type.items():
            received.add_metric([kind], count)
        yield received
        yield CounterMetricFamily(
            "momentum_deliveries", "Frames handed to connections.", value=s.deliveries
        )
        out = CounterMetricFamily(
            "momentum_messages_delivered",
            "Frames the hub handed to connections, by message type (presence: user_joined/left).",
            labels=["type"],
        )
        for kind, count in s.deliveries_by_type.items():
            out.add_metric([kind], count)
        yield out
        drops = CounterMetricFamily(
            "momentum_drops", "Messages or connections dropped.", labels=["reason"]
        )
        for reason, count in s.drops.items():
            drops.add_metric([reason], count)
        yield drops
        yield CounterMetricFamily(
            "momentum_slow_consumer_closes",
            "Connections closed with 4009.",
            value=s.drops.get("slow_consumer", 0),
        )
        yield CounterMetricFamily(
            "momentum_hub_errors", "Hub handler failures.", value=s.hub_errors
        )


class Metrics:
    """The process's metrics registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        #: the same events, summed up for the operator's log (`report_activity`)
        self.activity = Activity()
        self._hub = _HubCollector()
        self.registry.register(self._hub)
        self.handshake_failures = Counter(
            "momentum_handshake_failures",
            "WebSocket handshakes refused, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "momentum_delivery_latency_seconds",
            "From a message's arrival to its hand-off to every local recipient.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.closes = Counter(
            "momentum_connection_closes",
            "WebSocket connections closed, by close code (the server's, or the peer's).",
            ["code"],
            registry=self.registry,
        )
        self.connections_refused = Counter(
            "momentum_connections_refused",
            "Connections the front dropped or refused before any handler, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.error_envelopes = Counter(
            "momentum_error_envelopes",
            "Error envelopes sent to WebSocket clients, by error code.",
            ["code"],
            registry=self.registry,
        )
        self.hub_task_seconds = Histogram(
            "momentum_hub_task_seconds",
            "Event-loop time of the hub's periodic work, by task: presence_tick (presence"
            " flush and rate sampling), janitor_sweep (idle and finished connections),"
            " online_page (a page of the online users).",
            ["task"],
            buckets=_TASK_BUCKETS,
            registry=self.registry,
        )
        self.storage_errors = Counter(
            "momentum_storage_errors", "Failed storage operations.", registry=self.registry
        )

    def handshake_refused(self, reason: str) -> None:
        self.handshake_failures.labels(reason).inc()
        self.activity.handshake_refused(reason)

    def connection_refused(self, reason: str) -> None:
        self.connections_refused.labels(reason).inc()
        self.activity.connection_refused(reason)

    def connection_closed(self, code: int) -> None:
        self.activity.connection_closed(code)
        # Peers choose their own codes: the label keeps the ones Momentum defines or uses.
        self.closes.labels(str(code) if code in _KNOWN_CLOSES else "other").inc()

    def error_sent(self, code: str) -> None:
        self.error_envelopes.labels(code).inc()

    def observe_latency(self, seconds: float) -> None:
        self.delivery_latency.observe(seconds)

    def observe_hub_task(self, task: str, seconds: float) -> None:
        self.hub_task_seconds.labels(task).observe(seconds)

    def render(
        self,
        hub_snapshot: HubStats,
        restarts: Mapping[str, int],
        broker: BrokerFigures | None = None,
    ) -> bytes:
        self._hub.snapshot = hub_snapshot
        self._hub.restarts = restarts
        self._hub.broker = broker
        return generate_latest(self.registry)
