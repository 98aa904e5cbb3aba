"""`momentum stress --test-type soak`: its flags, checked, into `SoakOptions`."""

from __future__ import annotations

import argparse
from functools import partial

import trio

from ..config import ConfigError
from ..tools import SoakOptions, SoakPlan, run_soak
from ._pacing import pacing_args

#: Direct messages per second per sender in a soak when --rate is not given.
SOAK_DEFAULT_RATE = 10.0


def add_soak_flags(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("soak (--test-type soak)")
    group.add_argument(
        "--senders",
        type=int,
        default=200,
        help="connections (at most --connections) that exchange direct messages at --rate "
        "each (default: %(default)s)",
    )
    group.add_argument(
        "--broadcast-interval",
        type=float,
        default=1.0,
        help="seconds between two broadcasts (API key); 0 = none (default: %(default)g)",
    )
    group.add_argument(
        "--sample-interval",
        type=float,
        default=10.0,
        help="seconds between two samples of /health, /ws/stats and the server's RSS "
        "(default: %(default)g)",
    )
    group.add_argument(
        "--server-pid", type=int, help="the server's process id, to sample its RSS (same host)"
    )


def run_soak_command(args: argparse.Namespace) -> int:
    rate = SOAK_DEFAULT_RATE if args.rate is None else args.rate
    if args.senders < 0 or rate <= 0:
        raise ConfigError("--senders must be ≥ 0 and --rate > 0 for a soak")
    if args.broadcast_interval < 0 or args.sample_interval <= 0:
        raise ConfigError("--broadcast-interval must be ≥ 0 and --sample-interval > 0")
    plan = SoakPlan(
        connections=args.connections,
        duration=args.duration,
        senders=min(args.senders, args.connections),
        rate=rate,
        rate_limit=args.rate_limit,
        rate_burst=args.rate_burst,
        concurrency=args.concurrency,
        drain_timeout=args.drain_timeout,
    )
    options = SoakOptions(
        plan=plan,
        server_url=args.server_url,
        api_key=args.api_key,
        tokens_file=args.tokens_file,
        processes=args.processes,
        as_json=args.json,
        server_pid=args.server_pid,
        sample_interval=args.sample_interval,
        broadcast_interval=args.broadcast_interval,
        worker_index=args.worker_index,
        worker_count=args.worker_count,
        worker_args=[
            "--test-type=soak",
            f"--connections={args.connections}",
            f"--duration={args.duration}",
            f"--senders={args.senders}",
            f"--rate={rate}",
            *pacing_args(args),
            f"--concurrency={max(1, args.concurrency // args.processes)}",
            f"--drain-timeout={args.drain_timeout}",
            f"--server-url={args.server_url}",
        ],
    )
    return trio.run(partial(run_soak, options))
