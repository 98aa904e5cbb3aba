"""Argument parsing and dispatch for `momentum …`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..config import ConfigError
from . import _client, _serve, _stress, _users


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="momentum", description="Momentum: a real-time messaging server on Trio."
    )
    parser.add_argument("--version", action="version", version=f"momentum {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _serve.add_parser(commands)
    _users.add_parser(commands)
    _client.add_parser(commands)
    _stress.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # `serve --workers` repeats it
    try:
        code: int = args.run(args)
    except ConfigError as exc:
        print(f"momentum: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code
