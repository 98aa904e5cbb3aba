"""`momentum stress`: the load tests (storm, throughput, sustained, soak, room, room-recovery)."""

from __future__ import annotations

import argparse
import os
from functools import partial
from typing import Any

import trio

from ..config import ConfigError
from ..tools import (
    ROOM_TEST_TYPES,
    TEST_TYPES,
    RoomPlan,
    RoomStressOptions,
    StressOptions,
    StressPlan,
    run_room_stress,
    run_stress,
)
from ._client import DEFAULT_SERVER_URL
from ._pacing import add_format_flag, add_pacing_flags, check_pacing, pacing_args
from ._soak import SOAK_DEFAULT_RATE, add_soak_flags, run_soak_command

#: Messages per second per connection in a sustained test when --rate is not given.
SUSTAINED_DEFAULT_RATE = 2.0


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "stress",
        help="load-test a server (storm, throughput, sustained, room, room-recovery)",
        description="Open many WebSocket connections as provisioned test users and measure "
        "connect and message latency, delivery and errors. See docs/tools.md.",
    )
    p.add_argument(
        "--test-type",
        choices=(*TEST_TYPES, "soak", *ROOM_TEST_TYPES),
        default="storm",
        help="default: storm",
    )
    p.add_argument("--connections", type=int, default=100, help="default: %(default)s")
    p.add_argument(
        "--messages",
        type=int,
        default=100,
        help="throughput: per connection; room, room-recovery: per room (default: 100)",
    )
    p.add_argument("--rooms", type=int, default=1, help="room tests: rooms (default: 1)")
    p.add_argument(
        "--subscribers",
        type=int,
        default=100,
        help="room tests: subscribers per room, besides its publisher (default: 100)",
    )
    p.add_argument(
        "--duration", type=float, default=60.0, help="sustained, soak: seconds (default: 60)"
    )
    p.add_argument(
        "--rate",
        type=float,
        help="messages/s per connection (soak: per sender); 0 = as fast as --rate-limit and "
        f"acks allow (default: 0 for throughput, {SUSTAINED_DEFAULT_RATE:g} for sustained, "
        f"{SOAK_DEFAULT_RATE:g} for soak)",
    )
    p.add_argument(
        "--payload-size", type=int, default=64, help="bytes of filler per message (default: 64)"
    )
    p.add_argument(
        "--concurrency", type=int, default=100, help="handshakes at once (default: %(default)s)"
    )
    p.add_argument(
        "--drain-timeout",
        type=float,
        default=5.0,
        help="seconds to wait for stragglers (default: 5)",
    )
    add_soak_flags(p)
    add_pacing_flags(p)
    _add_server_flags(p)
    p.set_defaults(run=run)


def _add_server_flags(p: argparse.ArgumentParser) -> None:
    """Where to connect, how to get users, how to report."""
    p.add_argument(
        "--server-url",
        default=os.environ.get("MOMENTUM_SERVER_URL", DEFAULT_SERVER_URL),
        help="default: %(default)s",
    )
    p.add_argument(
        "--api-key",
        default=os.environ.get("MOMENTUM_API_KEY"),
        help="provision test users with the server's key (default: env MOMENTUM_API_KEY)",
    )
    p.add_argument("--tokens-file", help="tokens to use instead, one a line")
    p.add_argument("--processes", type=int, default=1, help="spread connections over N processes")
    p.add_argument(
        "--min-success",
        type=float,
        default=100.0,
        help="percent; below it the run fails: exit 1, or 3 when rate-limited (default: 100)",
    )
    add_format_flag(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")
    p.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)
    p.add_argument("--worker-count", type=int, default=1, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    _check(args)
    if args.test_type == "soak":
        return run_soak_command(args)
    if args.test_type in ROOM_TEST_TYPES:
        return _run_rooms(args)
    rate = args.rate
    if rate is None:
        rate = SUSTAINED_DEFAULT_RATE if args.test_type == "sustained" else 0.0
    plan = StressPlan(
        test_type=args.test_type,
        connections=args.connections,
        messages=args.messages,
        duration=args.duration,
        rate=rate,
        rate_limit=args.rate_limit,
        rate_burst=args.rate_burst,
        payload_size=args.payload_size,
        concurrency=args.concurrency,
        drain_timeout=args.drain_timeout,
        wire_format=args.format,
    )
    options = StressOptions(
        plan=plan,
        server_url=args.server_url,
        api_key=args.api_key,
        tokens_file=args.tokens_file,
        processes=args.processes,
        as_json=args.json,
        min_success=args.min_success / 100,
        worker_index=args.worker_index,
        worker_count=args.worker_count,
        worker_args=_worker_args(args, rate),
    )
    return trio.run(partial(run_stress, options))


def _run_rooms(args: argparse.Namespace) -> int:
    if args.rooms < 1 or args.subscribers < 1 or args.processes != 1:
        raise ConfigError("room tests: --rooms and --subscribers ≥ 1, and one process")
    plan = RoomPlan(
        test_type=args.test_type,
        rooms=args.rooms,
        subscribers=args.subscribers,
        messages=args.messages,
        rate=args.rate or 0.0,
        rate_limit=args.rate_limit,
        rate_burst=args.rate_burst,
        payload_size=args.payload_size,
        concurrency=args.concurrency,
        drain_timeout=args.drain_timeout,
    )
    options = RoomStressOptions(
        plan, args.server_url, args.api_key, args.tokens_file, as_json=args.json
    )
    return trio.run(partial(run_room_stress, options))


def _check(args: argparse.Namespace) -> None:
    check_pacing(args, 0.0 if args.worker_index is not None else args.rate or 0.0)
    if args.connections < 1 or args.messages < 1 or args.processes < 1:
        raise ConfigError("--connections, --messages and --processes must be at least 1")
    if args.duration <= 0 or args.payload_size < 0 or args.concurrency < 1:
        raise ConfigError("--duration must be > 0, --payload-size ≥ 0, --concurrency ≥ 1")
    if (args.rate is not None and args.rate < 0) or not 0 <= args.min_success <= 100:
        raise ConfigError("--rate must be ≥ 0 and --min-success within 0-100")
    if args.processes > args.connections:
        raise ConfigError("--processes cannot exceed --connections")


def _worker_args(args: argparse.Namespace, rate: float) -> list[str]:
    """The flags a worker process is started with (tokens come from the parent's file)."""
    return [
        f"--test-type={args.test_type}",
        f"--connections={args.connections}",
        f"--messages={args.messages}",
        f"--duration={args.duration}",
        f"--rate={rate}",
        *pacing_args(args),
        f"--payload-size={args.payload_size}",
        f"--concurrency={max(1, args.concurrency // args.processes)}",
        f"--drain-timeout={args.drain_timeout}",
        f"--format={args.format}",
        f"--server-url={args.server_url}",
    ]
