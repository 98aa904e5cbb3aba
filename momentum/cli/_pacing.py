"""The flags that tell `momentum client --benchmark` and `momentum stress` the server's
per-connection rate limit, which every connection they open paces itself to; and the
`--format` both share (JSON or MessagePack frames)."""

from __future__ import annotations

import argparse
import sys

from ..config import ConfigError
from ..tools import SERVER_RATE_BURST, SERVER_RATE_LIMIT, WIRE_FORMATS


def add_pacing_flags(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("pacing (the server's per-connection rate limit)")
    group.add_argument(
        "--rate-limit",
        type=float,
        default=SERVER_RATE_LIMIT,
        help="the server's WS_RATE_LIMIT: each connection sends at most this many frames/s "
        "(messages, acks, pings); 0 = do not pace (default: %(default)g)",
    )
    group.add_argument(
        "--rate-burst",
        type=int,
        default=SERVER_RATE_BURST,
        help="the server's WS_RATE_BURST; a connection bursts at most half of it "
        "(default: %(default)s)",
    )


def check_pacing(args: argparse.Namespace, rate: float) -> None:
    """Refuse impossible pacing; say so when `rate` (messages/s) is more than it allows."""
    if args.rate_limit < 0 or args.rate_burst < 1:
        raise ConfigError("--rate-limit must be ≥ 0 and --rate-burst ≥ 1")
    if 0 < args.rate_limit < rate:
        print(
            f"note: {rate:g} messages/s is above --rate-limit {args.rate_limit:g}: each "
            f"connection sends at most {args.rate_limit:g} frames/s, acks included",
            file=sys.stderr,
        )


def pacing_args(args: argparse.Namespace) -> list[str]:
    """The pacing flags again, for a worker process."""
    return [f"--rate-limit={args.rate_limit}", f"--rate-burst={args.rate_burst}"]


def add_format_flag(p: argparse.ArgumentParser) -> None:
    """`--format`: the wire format the client talks (its WebSocket subprotocol)."""
    p.add_argument(
        "--format",
        choices=sorted(WIRE_FORMATS),
        default="json",
        help="frames as JSON text (subprotocol momentum) or MessagePack binary "
        "(momentum.msgpack); default: %(default)s",
    )
