"""`momentum stress --test-type room | room-recovery` against a real server, JSON checked.

Rules: a real server on port 0 with a real SQLite file; the command runs through
`momentum.cli.main` in a worker thread (its own `trio.run`); test users are provisioned and
rooms created with the API key; real clock; an outer `trio.fail_after` in every test. A
lost room message is made by having the store fail every append: the run must then fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import trio

from momentum.cli import main
from momentum.storage import NewRoomMessage, RoomAppend, StorageError
from momentum.tools import EXIT_ERROR, EXIT_FAILED, EXIT_PASSED
from tests.server._live import LiveServer, custom_server

from .test_tools_stress import stress


def assert_ordered(latency: dict[str, float] | None) -> None:
    assert latency is not None
    assert 0 <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]


async def test_room_fan_out_counts_every_delivery_by_offset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(60):
        async with custom_server(tmp_path, rate_limit=0) as server:
            args = ("--test-type", "room", "--rooms", "2", "--subscribers", "5")
            status, summary = await stress(server, capsys, *args, "--messages", "20")
    assert status == EXIT_PASSED, summary
    assert summary["verdict"] == "passed"
    assert summary["connections"] == {"opened": 12, "failed": 0}
    counts = summary["messages"]
    assert counts["expected"] == counts["received"] == 2 * 5 * 20
    assert (counts["published"], counts["acked"]) == (40, 40)
    assert counts["gaps"] == counts["duplicates"] == counts["out_of_order"] == 0
    assert summary["latency_ms"]["count"] == 200
    assert_ordered(summary["latency_ms"])
    assert summary["deliveries_per_second"] > 0


async def test_room_recovery_times_the_resubscribe(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(60):
        args = ("--test-type", "room-recovery", "--subscribers", "3", "--messages", "30")
        status, summary = await stress(server, capsys, *args)  # paced to 20/s by default
    assert status == EXIT_PASSED, summary
    assert summary["messages"]["received"] == 90
    assert summary["messages"]["gaps"] == summary["messages"]["out_of_order"] == 0
    assert summary["not_recovered"] == 0
    assert summary["recovery_ms"]["count"] == summary["complete_ms"]["count"] == 3
    assert_ordered(summary["recovery_ms"])


async def test_messages_not_stored_fail_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(60):
        async with custom_server(tmp_path, rate_limit=0) as server:

            async def failing(messages: Sequence[NewRoomMessage]) -> list[RoomAppend]:
                raise StorageError("disk on fire")

            server.store.append_room_messages = failing  # type: ignore[method-assign]
            args = ("--test-type", "room", "--subscribers", "2", "--messages", "5")
            status, summary = await stress(server, capsys, *args, "--drain-timeout", "0.5")
    assert status == EXIT_FAILED
    assert summary["verdict"] == "failed"
    assert summary["errors"] == {"error_storage_unavailable": 5}
    assert summary["messages"]["gaps"] == 10


async def test_room_tests_need_the_api_key_and_one_process(
    server: LiveServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("not-a-token\n")
    argv = ["stress", "--server-url", server.base_url, "--test-type", "room"]
    with trio.fail_after(30):
        status = await trio.to_thread.run_sync(main, [*argv, "--tokens-file", str(tokens)])
    assert status == EXIT_ERROR
    assert "--api-key" in capsys.readouterr().err
    assert main([*argv, "--processes", "2", "--connections", "2"]) == EXIT_ERROR
    assert "one process" in capsys.readouterr().err
