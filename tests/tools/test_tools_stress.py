"""`momentum stress` against a real server: each test type at small scale, JSON checked.

Rules: a real server on port 0 with a real SQLite file; the command runs through
`momentum.cli.main` in a worker thread (its own `trio.run`), or as real worker processes
with `--processes`; test users are provisioned with the API key; real clock; an outer
`trio.fail_after` in every test. Consistency, in every run: sent == received + lost,
percentiles ordered, success rate matching the counts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio

from momentum.cli import main
from tests.server._live import API_KEY, LiveServer, custom_server


async def stress(
    server: LiveServer, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any]]:
    """Run `momentum stress … --json` against `server`; its exit status and its JSON."""
    argv = ["stress", "--server-url", server.base_url, "--json", *args]
    if "--tokens-file" not in args:
        argv += ["--api-key", API_KEY]
    capsys.readouterr()
    status = await trio.to_thread.run_sync(main, argv)
    out = capsys.readouterr().out
    return status, json.loads(out)


def assert_consistent(summary: dict[str, Any]) -> None:
    conns, msgs = summary["connections"], summary["messages"]
    assert msgs["sent"] == msgs["received"] + msgs["lost"]
    assert conns["attempted"] == conns["opened"] + conns["failed"]
    for latency in (conns["latency_ms"], msgs["latency_ms"]):
        if latency is not None:
            assert 0 <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    if msgs["latency_ms"] is not None:
        assert msgs["latency_ms"]["count"] == msgs["received"]
    delivery = msgs["received"] / msgs["sent"] if msgs["sent"] else 0.0
    connected = conns["opened"] / conns["attempted"]
    assert summary["success_rate"] == pytest.approx(min(delivery, connected), abs=1e-6)
    assert summary["passed"] == (summary["success_rate"] >= summary["min_success"])


async def test_storm(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    with trio.fail_after(30):
        status, summary = await stress(
            server, capsys, "--test-type", "storm", "--connections", "20", "--concurrency", "5"
        )
    assert status == 0
    assert_consistent(summary)
    assert summary["connections"]["opened"] == 20
    assert summary["connections"]["latency_ms"]["count"] == 20
    assert summary["messages"]["sent"] == 20  # one ping each
    assert summary["success_rate"] == 1.0
    assert summary["errors"] == {}


@pytest.mark.parametrize("wire_format", ["json", "msgpack"])
async def test_throughput(
    server: LiveServer, capsys: pytest.CaptureFixture[str], wire_format: str
) -> None:
    with trio.fail_after(30):
        args = ["--test-type", "throughput", "--connections", "20", "--messages", "20"]
        status, summary = await stress(server, capsys, *args, "--format", wire_format)
    assert status == 0
    assert_consistent(summary)
    assert summary["messages"]["sent"] == 400
    assert summary["messages"]["received"] == 400
    assert summary["messages"]["acked"] == 400
    assert summary["messages"]["per_second"] > 0


async def test_sustained(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    with trio.fail_after(30):
        status, summary = await stress(
            server,
            capsys,
            *("--test-type", "sustained", "--connections", "10", "--duration", "2"),
            *("--rate", "5", "--payload-size", "300"),
        )
    assert status == 0
    assert_consistent(summary)
    assert 60 <= summary["messages"]["sent"] <= 110  # 10 connections, 5/s each, for 2 s
    assert summary["messages"]["lost"] == 0
    assert summary["messages"]["seconds"] >= 2


async def test_two_processes_merge(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    with trio.fail_after(60):
        status, summary = await stress(
            server,
            capsys,
            *("--test-type", "throughput", "--connections", "10", "--messages", "10"),
            *("--processes", "2"),
        )
    assert status == 0
    assert_consistent(summary)
    assert summary["settings"]["processes"] == 2
    assert summary["connections"]["opened"] == 10
    assert summary["connections"]["latency_ms"]["count"] == 10  # samples from both workers
    assert summary["messages"]["received"] == 100
    assert summary["messages"]["latency_ms"]["count"] == 100


async def test_min_success_sets_the_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(30):
        async with custom_server(tmp_path, max_connections_per_user=2) as server:
            user = await server.create_user()
            tokens = tmp_path / "tokens.txt"
            tokens.write_text(f"# one user for four connections\n{server.token(user)}\n")
            args = ("--connections", "4", "--tokens-file", str(tokens))
            status, summary = await stress(server, capsys, *args)
            assert (status, summary["verdict"]) == (1, "failed")
            assert_consistent(summary)
            assert summary["connections"]["failed"] == 2
            assert summary["errors"] == {"handshake_429_too_many_connections": 2}
            assert summary["success_rate"] == 0.5
            status, summary = await stress(server, capsys, *args, "--min-success", "50")
            assert status == 0
            assert summary["passed"]
            assert summary["verdict"] == "accepted"  # not "passed": two connections failed


async def test_rate_limited_messages_are_counted_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(30):
        async with custom_server(tmp_path, rate_limit=5.0, rate_burst=20) as server:
            status, summary = await stress(
                server,
                capsys,
                *("--test-type", "throughput", "--connections", "2", "--messages", "30"),
                *("--rate-limit", "0", "--drain-timeout", "1"),
            )
    assert status == 3  # rate-limited
    assert_consistent(summary)
    refused = summary["errors"].pop("error_rate_limited")
    assert summary["errors"] == {}  # refused, not closed (4008)
    # every refused message is lost; a batched ack of received ones may be refused too
    assert 0 < summary["messages"]["lost"] <= refused


async def test_no_way_to_get_users_is_an_error(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(10):
        argv = ["stress", "--server-url", server.base_url, "--connections", "2"]
        status = await trio.to_thread.run_sync(main, argv)
        assert status == 2
        assert "--api-key" in capsys.readouterr().err
        argv += ["--api-key", "wrong"]
        status = await trio.to_thread.run_sync(main, argv)
        assert status == 2
        assert "provisioning test users failed" in capsys.readouterr().err


async def test_a_user_with_several_connections_counts_each_message_once(
    server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(30):
        users = [await server.create_user() for _ in range(2)]
        tokens = tmp_path / "tokens.txt"
        tokens.write_text("".join(server.token(u) + "\n" for u in users))
        status, summary = await stress(
            server,
            capsys,
            *("--test-type", "throughput", "--connections", "6", "--messages", "5"),
            *("--tokens-file", str(tokens), "--drain-timeout", "3"),
        )
    assert status == 0
    assert_consistent(summary)
    assert summary["messages"]["sent"] == summary["messages"]["received"] == 30
    assert summary["messages"]["seconds"] < 3  # drained, not timed out
