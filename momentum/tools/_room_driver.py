"""Runs a room scenario of `momentum stress`: tokens, the run, the summary, the exit status."""

from __future__ import annotations

import json
from dataclasses import dataclass

from rich.console import Console

from ._http import ToolError
from ._outcome import EXIT_ERROR
from ._room_load import RoomPlan, RoomRun
from ._room_report import print_room_summary, summarize
from ._room_scenarios import run_room, run_room_recovery
from ._tokens import provision_tokens, read_tokens_file


@dataclass(frozen=True)
class RoomStressOptions:
    plan: RoomPlan
    server_url: str
    api_key: str | None = None
    tokens_file: str | None = None
    as_json: bool = False


async def run_room_stress(options: RoomStressOptions) -> int:
    """The exit status, as the other scenarios: 0 passed, 1 failed (a gap, a duplicate, an
    error), 2 could not run, 3 failed with the rate limit among the causes."""
    plan = options.plan
    try:
        if not options.api_key:
            raise ToolError("the room scenarios create rooms: give --api-key (or MOMENTUM_API_KEY)")
        tokens = await _tokens(options, plan.rooms * (plan.subscribers + 1))
        run = RoomRun(plan, options.server_url, options.api_key, tokens)
        scenario = run_room if plan.test_type == "room" else run_room_recovery
        await scenario(run)
    except ToolError as exc:
        Console(stderr=True).print(f"[red]error:[/] {exc}", highlight=False)
        return EXIT_ERROR
    summary = summarize(run)
    if options.as_json:
        print(json.dumps(summary))
    else:
        print_room_summary(summary, Console())
    status: int = summary["exit_status"]
    return status


async def _tokens(options: RoomStressOptions, count: int) -> list[str]:
    """One token per connection; a tokens file with fewer is used round-robin."""
    if options.tokens_file:
        tokens = read_tokens_file(options.tokens_file)
        return [tokens[k % len(tokens)] for k in range(count)]
    assert options.api_key is not None
    return await provision_tokens(options.server_url, options.api_key, count, "stress")
