"""The TypeScript SDK (sdk/js) built once per test session, and Node scripts run against a
live server: each prints JSON lines that the test reads as they come."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import trio

SDK = Path(__file__).resolve().parents[2] / "sdk" / "js"
#: Node 20 has the standard WebSocket behind this flag (Node 22 on by default).
NODE = ["node", "--experimental-websocket", "--no-warnings"]
PASSWORD = "correct horse battery"


def sdk_missing() -> str | None:
    """Why the SDK cannot be built here, or None (CI installs both: `.ci/run`)."""
    if shutil.which("node") is None:
        return "no node on PATH"
    if not (SDK / "node_modules" / ".bin" / "tsc").exists():
        return "sdk/js has no node_modules: cd sdk/js && npm ci"
    return None


@functools.cache
def build_sdk() -> None:
    """`npm run build` (tsc) once per session: the scripts import sdk/js/dist."""
    subprocess.run(["npm", "run", "--silent", "build"], cwd=SDK, check=True, timeout=120)


class NodeScript:
    """A running script: its JSON lines, read as they come."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self._buffer = b""

    async def line(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        while b"\n" not in self._buffer:
            chunk = await self.process.stdout.receive_some(65536)
            if not chunk:
                raise AssertionError(f"the script ended without a result: {self._buffer!r}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\n", 1)
        line: dict[str, Any] = orjson.loads(raw)
        if "failed" in line:
            raise AssertionError(f"the script failed: {line['failed']}")
        return line

    async def step(self, name: str) -> None:
        assert (await self.line()).get("step") == name

    async def result(self) -> Any:
        line = await self.line()
        assert "result" in line, line
        return line["result"]


@asynccontextmanager
async def node_script(path: Path, *args: str, env: dict[str, Any]) -> AsyncIterator[NodeScript]:
    """Run `node path args…` with MOMENTUM_E2E=env (JSON); killed if still running at exit."""
    environment = {**os.environ, "MOMENTUM_E2E": orjson.dumps(env).decode()}
    process = await trio.lowlevel.open_process(
        [*NODE, str(path), *args], stdout=subprocess.PIPE, env=environment
    )
    try:
        yield NodeScript(process)
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
