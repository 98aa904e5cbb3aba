"""A redis-server of a test's own: a free port, no persistence, killed with SIGKILL (for tests
that restart or kill Redis; the machine's shared Redis is never touched)."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import trio


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def answers_ping(port: int) -> bool:
    try:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
    except OSError:
        return False
    async with stream:
        try:
            await stream.send_all(b"PING\r\n")
            return (await stream.receive_some(64)).startswith(b"+PONG")
        except (OSError, trio.BrokenResourceError):
            return False


class PrivateRedis:
    """A redis-server of the test's own: a free port, no persistence, killed with SIGKILL."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: trio.Process | None = None

    async def start(self) -> None:
        """Start it on its port (the same one every time) and wait until it answers PING."""
        logfile = self.workdir / "redis.log"
        self.process = await trio.lowlevel.open_process(
            [
                self.binary,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
                *("--dir", str(self.workdir), "--logfile", str(logfile)),
            ],
            stdout=subprocess.DEVNULL,
        )
        with trio.fail_after(10):
            while not await answers_ping(self.port):
                assert self.process.returncode is None, logfile.read_text()
                await trio.sleep(0.02)

    async def kill(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        with trio.CancelScope(shield=True):
            await self.process.wait()
