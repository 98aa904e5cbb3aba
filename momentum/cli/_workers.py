"""`momentum serve --workers N`: N server processes on one port, supervised by this one.

Each worker is `python -m momentum serve` with the same configuration, listening on the same
address with SO_REUSEPORT (the kernel spreads new connections over them); they are one
server through Redis (`REDIS_URL` is required). The parent only supervises: a worker that
exits on its own is logged and started again after a backoff (1 s, doubling up to 30 s,
back to 1 s once a worker has run for a minute); SIGTERM or SIGINT is passed on to every
worker, which drains its clients (1001), and the parent exits 0 once they have. A worker
whose parent is gone (killed with SIGKILL, it could pass nothing on) stops by itself.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence

import trio

log = logging.getLogger("momentum.workers")

#: Worker restart backoff: first, last, and how long a worker must live to reset it.
BACKOFF = (1.0, 30.0)
HEALTHY_AFTER = 60.0
#: Set in each worker's environment to the parent's pid: listen with SO_REUSEPORT, one
#: process each, and stop when that parent is gone.
WORKER_ENV = "MOMENTUM_WORKER"


async def supervise_workers(
    count: int,
    argv: Sequence[str],
    *,
    stop_timeout: float,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run `count` workers (`python -m momentum <argv>`) until SIGTERM/SIGINT; `env` adds
    to the environment they inherit."""
    command = [sys.executable, "-m", "momentum", *argv]
    env = {**os.environ, **(env or {}), WORKER_ENV: str(os.getpid())}
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:
            workers = [_Worker(i, command, env) for i in range(count)]
            for worker in workers:
                nursery.start_soon(worker.serve)
            async for signum in signals:
                log.info("received %s: stopping %d worker(s)", signal.Signals(signum).name, count)
                break
            for worker in workers:
                worker.stop()
            with trio.move_on_after(stop_timeout):
                for worker in workers:
                    await worker.stopped.wait()
            for worker in workers:
                worker.kill()
            nursery.cancel_scope.cancel()


class _Worker:
    def __init__(self, index: int, command: list[str], env: dict[str, str]) -> None:
        self.index = index
        self._command = command
        self._env = env
        self._process: trio.Process | None = None
        self._stopping = False
        self.stopped = trio.Event()

    async def serve(self) -> None:
        delay = BACKOFF[0]
        while not self._stopping:
            started = trio.current_time()
            self._process = await trio.lowlevel.open_process(self._command, env=self._env)
            log.info("worker %d started (pid %d)", self.index, self._process.pid)
            code = await self._process.wait()
            if self._stopping:
                break
            lived = trio.current_time() - started
            delay = BACKOFF[0] if lived >= HEALTHY_AFTER else delay
            log.error(
                "worker %d (pid %d) exited with %d after %.0f s: restarting in %.0f s",
                self.index,
                self._process.pid,
                code,
                lived,
                delay,
            )
            await trio.sleep(delay)
            delay = min(delay * 2, BACKOFF[1])
        self.stopped.set()

    def stop(self) -> None:
        self._stopping = True
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGTERM)
        else:
            self.stopped.set()

    def kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            log.warning("worker %d did not stop in time: killed", self.index)
            self._process.kill()
