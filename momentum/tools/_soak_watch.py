"""The soak's view of the server while it runs: one broadcast every `broadcast_interval`
(`POST /ws/broadcast` with the API key), and every `sample_interval` a sample of `/health`
and `/ws/stats` latency, the connections the server counts and, given its pid, its RSS.
At the end, the event-loop time of the hub's periodic work from `/metrics`.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import trio
from prometheus_client.parser import text_string_to_metric_families

from ..sdk._http import HTTP_TIMEOUT
from ._http import ToolError, base_url, request_json
from ._soak import BROADCAST_KEY
from ._stats import LatencySummary

#: The histogram the hub's periodic work is timed in (`/metrics`).
HUB_TASK_METRIC = "momentum_hub_task_seconds"


@dataclass(frozen=True, slots=True)
class Sample:
    """One look at the server, `at` seconds into the run (None: that part failed)."""

    at: float
    connections: int | None
    rss_mb: float | None
    health_ms: float | None
    stats_ms: float | None


class Watch:
    """Broadcasts and samples until cancelled; `as_json()` sums them up."""

    def __init__(
        self,
        server_url: str,
        api_key: str,
        *,
        server_pid: int | None,
        sample_interval: float,
        broadcast_interval: float,
        say: Callable[[str], object] = lambda line: None,
    ) -> None:
        self._base = base_url(server_url)
        self._api_key = api_key
        self._pid = server_pid
        self._sample_interval = sample_interval
        self._broadcast_interval = broadcast_interval
        self._say = say
        self._started = trio.current_time()
        self.samples: list[Sample] = []
        self.broadcasts_sent = 0
        self.broadcast_errors = 0

    async def serve(self) -> None:
        async with trio.open_nursery() as nursery:
            if self._broadcast_interval > 0:
                nursery.start_soon(self._broadcast_forever)
            while True:
                self.samples.append(await self.sample())
                self._say(_describe(self.samples[-1]))
                await trio.sleep(self._sample_interval)

    async def _broadcast_forever(self) -> None:
        next_at = trio.current_time()
        while True:
            body = {"data": {BROADCAST_KEY: self.broadcasts_sent + 1}}
            try:
                await request_json(
                    "POST", f"{self._base}/ws/broadcast", body=body, api_key=self._api_key
                )
                self.broadcasts_sent += 1
            except ToolError:
                self.broadcast_errors += 1
            next_at += self._broadcast_interval
            await trio.sleep_until(next_at)

    async def sample(self) -> Sample:
        health_ms, _ = await self._timed("/health")
        stats_ms, stats = await self._timed("/ws/stats")
        connections = stats.get("total_connections") if isinstance(stats, dict) else None
        rss = None if self._pid is None else server_rss_mb(self._pid)
        return Sample(trio.current_time() - self._started, connections, rss, health_ms, stats_ms)

    async def _timed(self, path: str) -> tuple[float | None, Any]:
        began = time.perf_counter()
        try:
            answer = await request_json("GET", self._base + path, api_key=self._api_key)
        except ToolError:
            return None, None
        return (time.perf_counter() - began) * 1000, answer

    def as_json(self) -> dict[str, Any]:
        latency = {}
        for name in ("health_ms", "stats_ms"):
            values = [getattr(s, name) for s in self.samples]
            summary = LatencySummary.of(v for v in values if v is not None)
            latency[name] = {
                "failed": values.count(None),
                **(summary.as_json() if summary else {}),
            }
        return {
            "broadcasts_sent": self.broadcasts_sent,
            "broadcast_errors": self.broadcast_errors,
            "latency": latency,
            "samples": [asdict(s) for s in self.samples],
        }


def _describe(s: Sample) -> str:
    def ms(value: float | None) -> str:
        return "failed" if value is None else f"{value:.1f} ms"

    rss = "" if s.rss_mb is None else f"  rss {s.rss_mb:.0f} MB"
    return (
        f"{s.at:6.0f} s  connections {s.connections}{rss}  "
        f"/health {ms(s.health_ms)}  /ws/stats {ms(s.stats_ms)}"
    )


def server_rss_mb(pid: int) -> float | None:
    """The resident memory of process `pid` (Linux `/proc`), None when it cannot be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


async def hub_task_times(server_url: str, api_key: str) -> dict[str, Any]:
    """Per task of `HUB_TASK_METRIC`: how many, the mean and the smallest bucket bound that
    holds them all (`max_le_ms`: every one took at most that long). Empty if unreadable."""
    request = urllib.request.Request(
        f"{base_url(server_url)}/metrics", headers={"X-API-Key": api_key}
    )

    def fetch() -> str:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            text: str = response.read().decode()
            return text

    try:
        text = await trio.to_thread.run_sync(fetch, abandon_on_cancel=True)
    except OSError:
        return {}
    return task_times(text)


def task_times(metrics_text: str) -> dict[str, Any]:
    """`hub_task_times` from the text of `/metrics`."""
    tasks: dict[str, dict[str, Any]] = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name != HUB_TASK_METRIC:
            continue
        for sample in family.samples:
            task = tasks.setdefault(sample.labels["task"], {"buckets": []})
            if sample.name.endswith("_count"):
                task["count"] = int(sample.value)
            elif sample.name.endswith("_sum"):
                task["sum"] = sample.value
            elif sample.name.endswith("_bucket"):
                task["buckets"].append((float(sample.labels["le"]), sample.value))
    return {name: _summed_up(task) for name, task in tasks.items() if task.get("count")}


def _summed_up(task: dict[str, Any]) -> dict[str, Any]:
    count = task["count"]
    bound = min(le for le, seen in task["buckets"] if seen >= count)
    return {
        "count": count,
        "mean_ms": round(task["sum"] / count * 1000, 3),
        "max_le_ms": None if bound == float("inf") else bound * 1000,
    }
