"""`momentum … --help` agrees with the docs: every `serve` option is in operations.md's
table, and `--workers` reads the same in both. Pure: the parser and a file, no I/O else."""

from __future__ import annotations

import argparse
from pathlib import Path

from momentum.cli._main import build_parser

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def serve_parser() -> argparse.ArgumentParser:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    parser: argparse.ArgumentParser = commands.choices["serve"]
    return parser


def test_every_serve_option_has_a_row_in_operations_md() -> None:
    doc = OPERATIONS.read_text("utf-8")
    options = [o for a in serve_parser()._actions for o in a.option_strings if o.startswith("--")]
    assert "--workers" in options
    for option in options:
        if option != "--help":
            assert f"| `{option}" in doc, option


def test_workers_help_matches_operations_md() -> None:
    doc = OPERATIONS.read_text("utf-8")
    row = next(line for line in doc.splitlines() if line.startswith("| `--workers N`"))
    (workers,) = [a for a in serve_parser()._actions if "--workers" in a.option_strings]
    assert workers.help == "processes on one port (default 1); above 1 needs REDIS_URL"
    assert "| 1 | processes on one port; above 1 needs `REDIS_URL`" in row
