"""`momentum client`: the interactive WebSocket client and its benchmark mode."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from functools import partial
from typing import Any

import trio

from ..config import ConfigError
from ..tools import BenchmarkPlan, InteractiveClient, Login, open_terminal, run_benchmark
from ._pacing import add_format_flag, add_pacing_flags, check_pacing

DEFAULT_SERVER_URL = "http://localhost:8000"


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "client",
        help="interactive WebSocket client (and --benchmark)",
        description="Connect to a Momentum server as a user and chat from the terminal; "
        "type help once connected. With --benchmark, measure round trips instead.",
    )
    p.add_argument(
        "--server-url",
        default=os.environ.get("MOMENTUM_SERVER_URL", DEFAULT_SERVER_URL),
        help="the server's HTTP URL; /ws is derived from it (default: %(default)s)",
    )
    who = p.add_argument_group("who to connect as")
    who.add_argument("--username", help="log in with this username")
    who.add_argument("--email", help="log in with this email (or register it, with --register)")
    who.add_argument("--password", help="default: env MOMENTUM_PASSWORD, else asked for")
    who.add_argument("--register", action="store_true", help="create the account first")
    who.add_argument("--token", help="use this JWT instead of logging in (env MOMENTUM_TOKEN)")
    p.add_argument("--no-reconnect", action="store_true", help="exit when the connection is lost")
    add_format_flag(p)
    bench = p.add_argument_group("benchmark mode")
    bench.add_argument("--benchmark", action="store_true", help="measure instead of chatting")
    bench.add_argument("--messages", type=int, default=1000, help="default: %(default)s")
    pace = bench.add_mutually_exclusive_group()
    pace.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="messages/s; 0 = as fast as --rate-limit and acks allow (default: 0)",
    )
    pace.add_argument(
        "--interval", type=float, help="milliseconds between messages: the same as --rate 1000/MS"
    )
    bench.add_argument(
        "--payload-size", type=int, default=64, help="bytes of filler content (default: 64)"
    )
    bench.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    add_pacing_flags(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    login = _login(args)
    if args.benchmark:
        plan = _benchmark_plan(args)
        return trio.run(partial(run_benchmark, login, plan, as_json=args.json))
    with open_terminal() as terminal:
        client = InteractiveClient(
            login, terminal, reconnect=not args.no_reconnect, wire_format=args.format
        )
        return trio.run(partial(client.run, handle_signals=True))


def _benchmark_plan(args: argparse.Namespace) -> BenchmarkPlan:
    if args.messages < 1 or args.rate < 0 or args.payload_size < 0:
        raise ConfigError("--messages must be at least 1; --rate, --payload-size ≥ 0")
    if args.interval is not None and args.interval <= 0:
        raise ConfigError("--interval must be > 0 milliseconds")
    rate = 1000 / args.interval if args.interval is not None else args.rate
    check_pacing(args, rate)
    return BenchmarkPlan(
        messages=args.messages,
        rate=rate,
        payload_size=args.payload_size,
        rate_limit=args.rate_limit,
        rate_burst=args.rate_burst,
        wire_format=args.format,
    )


def _login(args: argparse.Namespace) -> Login:
    token = args.token or os.environ.get("MOMENTUM_TOKEN")
    password = args.password or os.environ.get("MOMENTUM_PASSWORD")
    if token is None:
        if not (args.username or args.email):
            raise ConfigError("give --username or --email (with a password), or --token")
        if password is None:
            if not sys.stdin.isatty():
                raise ConfigError("give --password (or MOMENTUM_PASSWORD), or --token")
            password = getpass.getpass(f"password for {args.username or args.email}: ")
    return Login(
        server_url=args.server_url,
        username=args.username,
        email=args.email,
        password=password,
        register=args.register,
        token=token,
    )
