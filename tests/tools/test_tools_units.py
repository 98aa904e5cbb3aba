"""The tools' pure parts: command parsing, backoff, percentiles, merging, tokens, URLs.

Rules: no server, no I/O, no clock.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from momentum.tools import LatencySummary, Tally, ToolError, parse_command
from momentum.tools import percentile as pct
from momentum.tools._commands import (
    Help,
    Invalid,
    Online,
    Ping,
    Quit,
    Send,
    SendJson,
    Stats,
)
from momentum.tools._display import clock, presence_line
from momentum.tools._http import base_url, ws_url
from momentum.tools._identity import credentials_from_token
from momentum.tools._server_stats import format_server_stats
from momentum.tools._tokens import slots_for
from tests.server._live import mint_token


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("text Hello World!", Send("text", "Hello World!")),
        ("  notification   Alert! ", Send("notification", "Alert!")),
        ("to bob hi there", Send("text", "hi there", to="bob")),
        ("TO Bob  hi", Send("text", "hi", to="Bob")),
        ("ping", Ping()),
        ("online", Online()),
        ("stats", Stats()),
        ("help", Help()),
        ("?", Help()),
        ("quit", Quit()),
        ("exit", Quit()),
        ('json {"message_type": "ping"}', SendJson({"message_type": "ping"})),
        ("json [1, 2]", SendJson([1, 2])),
    ],
)
def test_commands_parse(line: str, command: object) -> None:
    assert parse_command(line) == command


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("frobnicate now", "unknown command 'frobnicate'; type help"),
        ("text", "usage: text <message>"),
        ("to bob", "usage: to <user name or id> <message>"),
        ("json {nope", "not valid JSON"),
        ("json", "usage: json"),
        ("ping twice", "ping takes no arguments"),
    ],
)
def test_bad_commands_say_why(line: str, hint: str) -> None:
    parsed = parse_command(line)
    assert isinstance(parsed, Invalid)
    assert hint in parsed.reason


def test_blank_lines_are_no_command() -> None:
    assert parse_command("") is None
    assert parse_command("   ") is None


def test_percentiles_are_nearest_rank() -> None:
    samples = [float(x) for x in range(1, 101)]
    assert [pct(samples, p) for p in (50, 90, 99, 100)] == [50, 90, 99, 100]
    assert pct([3.0], 99) == 3.0
    with pytest.raises(ValueError):
        pct([], 50)
    summary = LatencySummary.of([5.0, 1.0, 3.0])
    assert summary is not None
    assert (summary.p50, summary.max, summary.mean) == (3.0, 5.0, 3.0)
    assert LatencySummary.of([]) is None


def test_merged_percentiles_come_from_all_samples_not_averages() -> None:
    fast, slow = Tally(), Tally()
    fast.message_us = [1000] * 99
    slow.message_us = [100_000]
    fast.sent = fast.received = 99
    slow.sent, slow.received = 2, 1
    slow.errors["close_4009"] = 1
    merged = Tally.merged([Tally.from_json(fast.as_json()), Tally.from_json(slow.as_json())])
    assert (merged.sent, merged.received, merged.errors["close_4009"]) == (101, 100, 1)
    summary = LatencySummary.of(us / 1000 for us in merged.message_us)
    assert summary is not None
    assert (summary.p50, summary.p99, summary.max) == (1.0, 1.0, 100.0)


def test_token_claims_give_the_user() -> None:
    user_id = uuid.uuid4()
    credentials = credentials_from_token(mint_token(user_id, username="dev"))
    assert (credentials.user_id, credentials.username) == (user_id, "dev")
    with pytest.raises(ToolError, match="not a JWT"):
        credentials_from_token("not-a-token")


def test_urls() -> None:
    assert ws_url("http://h:8000/", "t") == "ws://h:8000/ws?token=t"
    assert ws_url("https://h/base", "a b") == "wss://h/base/ws?token=a+b"
    with pytest.raises(ToolError, match="--server-url"):
        base_url("localhost:8000")


def test_workers_split_connections_and_reuse_tokens() -> None:
    tokens = [mint_token(uuid.uuid4()) for _ in range(3)]
    everyone = slots_for(tokens, 7)
    assert [s.index for s in everyone] == list(range(7))
    assert everyone[3].token == tokens[0]
    halves = [slots_for(tokens, 7, worker, 2) for worker in (0, 1)]
    assert sorted(s.index for half in halves for s in half) == list(range(7))
    assert [s.index for s in halves[1]] == [1, 3, 5]


def test_presence_lines_name_a_few_and_count_a_crowd() -> None:
    assert presence_line("joined", ["alice"], 1) == "* alice joined"
    assert presence_line("left", ["a", "b", "c"], 3) == "* a, b and c left"
    assert presence_line("joined", [f"u{i}" for i in range(100)], 231) == "* 231 users joined"
    assert presence_line("joined", ["a", "b"], 7) == "* 7 users joined"  # some not listed


def test_a_message_time_is_its_own_in_local_time() -> None:
    stamp = "2026-11-30T00:02:40.738Z"
    local = dt.datetime(2026, 11, 30, 0, 2, 40, tzinfo=dt.UTC).astimezone()
    assert clock(stamp, today=local.date()) == local.strftime("%H:%M:%S")
    later = local.date() + dt.timedelta(days=3)
    assert clock(stamp, today=later) == local.strftime("%Y-%m-%d %H:%M:%S")
    assert len(clock("not a time")) == len("12:03:44")  # now, for lack of better


def test_server_stats_read_as_lines() -> None:
    text = format_server_stats(
        {
            "total_connections": 1200,
            "server_uptime": 3725.4,
            "messages_by_type": {"text": 2, "system_message": 1},
            "drops": {},
            "messages_per_second": 12.25,
            "nodes": [{"id": "n1", "this_node": True, "connections": 3}],
        }
    )
    assert text.splitlines() == [
        "  total connections    1,200",
        "  server uptime        1 h 02 min 05 s",
        "  messages by type     text 2, system message 1",
        "  drops                none",
        "  messages per second  12.2",
        "  nodes:",
        "    id n1, this node yes, connections 3",
    ]
