"""`momentum stress --test-type soak` against a real server, and how it counts.

Rules: a real server on port 0 with a real SQLite file; the command runs through
`momentum.cli.main` in a worker thread (its own `trio.run`), or as real worker processes
with `--processes`; real clock, short runs, an outer `trio.fail_after` in every test. In
every run: sent == received + refused + lost.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import trio

from momentum.cli import main
from momentum.tools._soak import SoakPlan, SoakTally
from momentum.tools._soak_driver import SoakOptions, latency_summary, summarize
from momentum.tools._soak_watch import task_times
from tests.server._live import API_KEY, LiveServer


async def soak(
    server: LiveServer, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any]]:
    argv = ["stress", "--test-type", "soak", "--server-url", server.base_url, "--json"]
    argv += ["--api-key", API_KEY, "--sample-interval", "0.5", *args]
    capsys.readouterr()
    status = await trio.to_thread.run_sync(main, argv)
    return status, json.loads(capsys.readouterr().out)


def assert_consistent(summary: dict[str, Any]) -> None:
    direct = summary["direct"]
    assert direct["sent"] == direct["received"] + direct["refused"] + direct["lost"]
    assert summary["passed"] == (summary["exit_status"] == 0)


async def test_a_clean_soak_loses_nothing_and_watches_the_server(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(60):
        status, summary = await soak(
            server,
            capsys,
            *("--connections", "12", "--senders", "4", "--rate", "5", "--duration", "2"),
            *("--broadcast-interval", "0.5", "--server-pid", str(os.getpid())),
        )
    assert (status, summary["passed"]) == (0, True)
    assert_consistent(summary)
    assert summary["connections"]["opened"] == 12
    assert summary["connections"]["unexpected_closes"] == {}
    assert 20 <= summary["direct"]["sent"] <= 50  # 4 senders, 5/s, for 2 s
    assert summary["direct"]["lost"] == 0
    assert summary["direct"]["latency_ms"]["count"] == summary["direct"]["received"]
    assert summary["broadcast_frames"]["per_connection_min"] >= 2
    server_side = summary["server"]
    assert server_side["broadcasts_sent"] >= 3
    assert all(s["rss_mb"] > 0 for s in server_side["samples"])  # this process: the server's
    assert server_side["latency"]["health_ms"]["failed"] == 0
    assert "presence_tick" in server_side["hub_tasks"]


async def test_two_processes_merge_their_counts(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(90):
        status, summary = await soak(
            server,
            capsys,
            *("--connections", "10", "--senders", "4", "--duration", "1.5", "--processes", "2"),
        )
    assert status == 0
    assert_consistent(summary)
    assert summary["connections"]["opened"] == 10
    assert summary["direct"]["received"] > 0


async def test_a_receiver_disabled_mid_run_is_an_unexpected_close_and_its_messages_lost(
    server: LiveServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with trio.fail_after(60):
        ann, bob = await server.create_user(), await server.create_user()
        boss = await server.create_user(admin=True)
        tokens = tmp_path / "tokens.txt"
        tokens.write_text(f"{server.token(ann)}\n{server.token(bob)}\n")
        args = ("--connections", "2", "--senders", "2", "--duration", "3", "--rate", "10")
        async with trio.open_nursery() as nursery:

            async def disable_bob() -> None:
                await trio.sleep(1.5)
                assert (await server.set_active(bob, False, admin=boss)).status_code == 200

            nursery.start_soon(disable_bob)
            status, summary = await soak(
                server, capsys, *args, "--tokens-file", str(tokens), "--drain-timeout", "1"
            )
    assert (status, summary["passed"]) == (1, False)
    assert_consistent(summary)
    assert summary["connections"]["unexpected_closes"] == {"close_4003": 1}
    assert summary["direct"]["lost"] + summary["direct"]["refused"] >= 5  # ann → bob, 1.5 s
    assert len(summary["direct"]["lost_ids"]) == min(20, summary["direct"]["lost"])


def test_lost_means_sent_and_neither_received_nor_refused() -> None:
    tally = SoakTally()
    tally.sent |= {"a", "b", "c"}
    tally.received |= {"a", "x"}  # "x": not ours to count
    tally.refused.add("b")
    tally.opened = 1
    result = {**tally.as_json(), "connect_seconds": 0.1}
    assert (result["received"], result["lost"]) == (1, ["c"])
    options = SoakOptions(SoakPlan(connections=1), server_url="http://127.0.0.1:1")
    summary = summarize(options, [result], {})
    assert (summary["direct"]["lost"], summary["exit_status"]) == (1, 1)
    tally.received.add("c")
    clean = summarize(options, [{**tally.as_json(), "connect_seconds": 0.1}], {})
    assert (clean["direct"]["lost"], clean["exit_status"]) == (0, 0)


def test_latencies_merge_by_whole_milliseconds() -> None:
    summary = latency_summary([{"1": 50, "3": 40}, {"3": 9, "250": 1}])
    assert summary == {"count": 100, "p50": 1, "p90": 3, "p99": 3, "max": 250}
    assert latency_summary([{}]) is None


def test_hub_task_times_come_from_the_histogram() -> None:
    text = "\n".join(
        [
            "# TYPE momentum_hub_task_seconds histogram",
            'momentum_hub_task_seconds_bucket{le="0.001",task="presence_tick"} 3.0',
            'momentum_hub_task_seconds_bucket{le="0.02",task="presence_tick"} 4.0',
            'momentum_hub_task_seconds_bucket{le="+Inf",task="presence_tick"} 4.0',
            'momentum_hub_task_seconds_count{task="presence_tick"} 4.0',
            'momentum_hub_task_seconds_sum{task="presence_tick"} 0.012',
            'momentum_hub_task_seconds_bucket{le="+Inf",task="janitor_sweep"} 0.0',
            'momentum_hub_task_seconds_count{task="janitor_sweep"} 0.0',
            'momentum_hub_task_seconds_sum{task="janitor_sweep"} 0.0',
        ]
    )
    assert task_times(text) == {"presence_tick": {"count": 4, "mean_ms": 3.0, "max_le_ms": 20.0}}
