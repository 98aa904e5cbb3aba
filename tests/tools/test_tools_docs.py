"""docs/tools.md agrees with the tools: every flag in `--help` is documented, and every flag
the documentation names exists.

Rules: no server; `momentum … --help` through `momentum.cli.main`, its output captured; the
documentation read from the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from momentum.cli import main

DOC = Path(__file__).parents[2] / "docs" / "tools.md"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*[a-z]")
#: Flags the sections name that are not their command's own, and why.
ELSEWHERE = {
    "--print-tokens": "`momentum users create`, which makes a tokens file",
    "--count": "`momentum users create`",
    "--benchmark": "`momentum client --benchmark`, named in the stress section",
    "--worker-index": "how the parent starts a worker process; hidden from --help",
    "--worker-count": "how the parent starts a worker process; hidden from --help",
}


def help_flags(command: str, capsys: pytest.CaptureFixture[str]) -> set[str]:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    return set(FLAG.findall(capsys.readouterr().out)) - {"--help"}


def doc_section(command: str) -> str:
    """The part of docs/tools.md about `momentum <command>`: up to the next `## ` heading."""
    text = DOC.read_text()
    start = text.index(f"## `momentum {command}`")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


@pytest.mark.parametrize("command", ["client", "stress"])
def test_the_doc_names_exactly_the_flags_of_help(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    in_help = help_flags(command, capsys)
    in_doc = set(FLAG.findall(doc_section(command))) - (ELSEWHERE.keys() - in_help)
    assert in_help - in_doc == set(), "flags in --help but not in docs/tools.md"
    assert in_doc - in_help == set(), "flags in docs/tools.md that --help does not have"
