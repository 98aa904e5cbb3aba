"""The load tools and the server's rate limit: paced by default, and clear when refused.

Rules: real servers on port 0 with real SQLite files, some with a low `WS_RATE_LIMIT`; the
commands run through `momentum.cli.main` in a worker thread (their own `trio.run`), so the
exit status and what is printed are the user's; real clock; an outer `trio.fail_after` in
every test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio

from momentum.cli import main
from tests.server._live import API_KEY, LiveServer, custom_server

from .test_tools_stress import assert_consistent


async def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = await trio.to_thread.run_sync(main, list(argv))
    captured = capsys.readouterr()
    return status, captured.out, " ".join(captured.err.split())


def stress_argv(server: LiveServer, *args: str) -> list[str]:
    return ["stress", "--server-url", server.base_url, "--api-key", API_KEY, *args]


def benchmark_argv(server: LiveServer, token: str, *args: str) -> list[str]:
    return ["client", "--server-url", server.base_url, "--token", token, "--benchmark", *args]


async def stress_limited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], limit: float, burst: int, *runs: str
) -> list[tuple[int, str]]:
    """Throughput runs, each `runs` item a string of extra flags, against one server whose
    WS_RATE_LIMIT and WS_RATE_BURST are `limit` and `burst`: (status, stdout) of each."""
    results = []
    async with custom_server(tmp_path, rate_limit=limit, rate_burst=burst) as server:
        for flags in runs:
            argv = stress_argv(server, "--test-type", "throughput", *flags.split())
            status, out, _ = await run_cli(capsys, *argv)
            results.append((status, out))
    return results


async def test_throughput_paced_to_the_server_limit_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Unpaced, each connection's first 30 messages would find a bucket of 10.
    flags = "--connections 3 --messages 30 --rate-limit 10 --rate-burst 10 --json"
    with trio.fail_after(60):
        [(status, out)] = await stress_limited(tmp_path, capsys, 10.0, 10, flags)
    summary: dict[str, Any] = json.loads(out)
    assert_consistent(summary)
    assert summary["errors"] == {}
    assert summary["messages"]["received"] == 90
    assert (status, summary["verdict"], summary["exit_status"]) == (0, "passed", 0)


async def test_unpaced_throughput_is_rate_limited_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = "--connections 2 --messages 40 --rate-limit 0 --drain-timeout 1"
    with trio.fail_after(60):
        [(status, out), (_, as_json)] = await stress_limited(
            tmp_path, capsys, 2.0, 3, flags, f"{flags} --json"
        )
    assert status == 3
    out = " ".join(out.split())  # rich wraps long lines
    assert "FAILED: rate-limited by the server" in out
    assert "passed" not in out
    assert "closed by the server with 4008 RATE_LIMITED (rate limit:" in out
    assert "--rate-limit 0 sends unpaced" in out
    summary: dict[str, Any] = json.loads(as_json)
    assert_consistent(summary)
    assert summary["errors"]["close_4008"] == 2
    assert (summary["verdict"], summary["exit_status"]) == ("rate_limited", 3)


async def test_the_benchmark_is_paced_and_passes_on_a_default_server(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # 60 messages and their acks: more than the default burst of 40 in one go; --interval 10
    # (the old default, 100/s) asks for five times the server's limit.
    with trio.fail_after(60):
        user = await server.create_user()
        argv = benchmark_argv(server, server.token(user), "--messages", "60", "--interval", "10")
        status, out, err = await run_cli(capsys, *argv)
    assert status == 0, out + err
    out = " ".join(out.split())
    assert "momentum client --benchmark — passed" in out
    assert "note: 100 messages/s is above --rate-limit 20" in err
    assert "paced to 20 frames/s" in err
    assert "error" not in out


async def test_a_benchmark_with_losses_does_not_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(60):
        async with custom_server(tmp_path, rate_limit=5.0, rate_burst=40) as server:
            token = server.token(await server.create_user())
            argv = benchmark_argv(server, token, "--messages", "50", "--interval", "1")
            status, out, _ = await run_cli(capsys, *argv, "--rate-limit", "0", "--json")
            paced, _, _ = await run_cli(
                capsys, *argv, "--rate-limit", "40", "--rate-burst", "40", "--json"
            )
    summary: dict[str, Any] = json.loads(out)
    assert summary["messages"]["lost"] > 0
    assert summary["errors"]["error_rate_limited"] > 0
    assert (status, summary["verdict"], summary["passed"]) == (3, "rate_limited", False)
    assert paced == 3  # told a limit above the server's: refused, and reported as such


async def test_usage_errors_exit_2(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    with trio.fail_after(30):
        status, _, err = await run_cli(capsys, *stress_argv(server, "--rate-limit", "-1"))
        assert status == 2
        assert "--rate-limit must be ≥ 0" in err
        token = server.token(await server.create_user())
        status, _, err = await run_cli(capsys, *benchmark_argv(server, token, "--interval", "0"))
        assert status == 2
        down = ["client", "--server-url", "http://127.0.0.1:9", "--token", token, "--benchmark"]
        status, _, err = await run_cli(capsys, *down)
        assert status == 2
        assert "cannot connect" in err
