"""README.md's Quick start runs as pasted, against a real server.

Rules: the `sh` blocks of the "Quick start" section are run in order by one `bash -eu`
(the blocks share variables, as in one shell), in a scratch folder whose `.venv/bin` holds
this interpreter and the `momentum` command, with MOMENTUM_SERVER_URL naming a real server
on a free port of 127.0.0.1 and DATABASE_URL its SQLite file (the README's `./momentum.db`).
The client block runs a second time: a direct message it acknowledged must not come back.
Real clock; an outer `trio.fail_after`.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import trio

from tests.server._live import open_live_server, settings_for

README = Path(__file__).resolve().parents[2] / "README.md"
AGAIN = "=== the client block again ==="


def quick_start_blocks() -> list[str]:
    """The `sh` blocks between `## Quick start` and the next `## ` heading."""
    text = README.read_text("utf-8")
    section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)


def scratch_venv(folder: Path) -> None:
    """`.venv/bin/python` and `.venv/bin/momentum` as the README calls them."""
    bin_dir = folder / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, command in (("python", ""), ("momentum", " -m momentum")):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}"{command} "$@"\n')
        script.chmod(0o755)


def test_the_quick_start_has_the_blocks_this_test_expects() -> None:
    blocks = quick_start_blocks()
    assert len(blocks) == 2
    assert "/auth/register" in blocks[0] and "<<'EOF'" in blocks[1]
    assert "<uuid>" not in README.read_text("utf-8")


async def test_the_quick_start_runs_as_pasted(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/momentum.db"
    scratch_venv(tmp_path)
    setup, client = quick_start_blocks()
    script = f"{setup}\n{client}\necho '{AGAIN}'\n{client}"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("JWT_SECRET", "MOMENTUM_API_KEY", "MOMENTUM_PASSWORD")
    }
    with trio.fail_after(60):
        async with open_live_server(settings_for(database, api_key="")) as server:
            env |= {"MOMENTUM_SERVER_URL": server.base_url, "DATABASE_URL": database}
            done = await trio.run_process(
                ["bash", "-euc", script],
                cwd=tmp_path,
                env=env,
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, (out, err)
    first, again = out.split(AGAIN)
    assert '"error"' not in first, first
    assert '"username":"alice"' in first  # /auth/me
    assert '"stored":true' in first  # the notification to alice was stored
    assert "notification {'content': 'build finished'}" in first
    assert "text {'content': 'hi all'}" in again
    assert "build finished" not in again  # acknowledged the first time
    assert written(tmp_path) <= {".venv", "momentum.db", "momentum.db-wal", "momentum.db-shm"}


def written(folder: Path) -> set[str]:
    """What the Quick start left in its working folder."""
    return {path.name for path in folder.iterdir()}
