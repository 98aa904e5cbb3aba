"""`momentum serve`: run the server until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
from functools import partial
from pathlib import Path
from typing import Any

import trio

from ..config import ConfigError, load_settings
from ..observability import configure_logging
from ..server import serve
from ..storage import StorageError
from ._workers import WORKER_ENV, supervise_workers

log = logging.getLogger("momentum")

#: How often a worker of `--workers N` checks that its parent is still there (seconds).
ORPHAN_CHECK = 1.0
#: The cyclic garbage collector's thresholds for the server process (Python's default is
#: (700, 10, 10)). Every open connection holds a few hundred long-lived objects, and the
#: collector looks at them again and again: with the default, a connection storm against
#: 2,000 open connections spent about a quarter of the server's CPU in the collector
#: (docs/benchmarks.md). A young collection every 50,000 allocations instead of 700 still
#: frees cycles (Trio's cancelled tasks leave some) within a fraction of a second.
GC_THRESHOLDS = (50_000, 10, 10)


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("serve", help="run the server")
    p.add_argument("--bind", help="HOST:PORT (default from hypercorn.toml, else 0.0.0.0:8000)")
    p.add_argument(
        "--config",
        help="hypercorn TOML file; it must exist (default: ./hypercorn.toml, if there is one)",
    )
    p.add_argument("--database-url", help="sqlite:///path or postgresql://… (env DATABASE_URL)")
    p.add_argument(
        "--workers", type=int, help="processes on one port (default 1); above 1 needs REDIS_URL"
    )
    p.add_argument("--log-format", choices=["text", "json"], help="log format (env LOG_FORMAT)")
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING… (env LOG_LEVEL)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(
        hypercorn_toml=Path(args.config or "hypercorn.toml"),
        hypercorn_toml_required=args.config is not None,
        bind=args.bind,
        database_url=args.database_url,
        workers=args.workers,
        log_format=args.log_format,
        log_level=args.log_level,
    )
    configure_logging(settings.log_level, settings.log_format)
    if settings.jwt_secret_generated:
        log.warning(
            "JWT_SECRET is not set: using a random secret for this run only. "
            "Tokens will not survive a restart; set JWT_SECRET in production."
        )
    if settings.workers > 1:
        worker_argv = [*_without_workers(args.argv), "--workers", "1"]
        # Drawn once here: a secret drawn by each worker would refuse the others' tokens.
        env = {"JWT_SECRET": settings.jwt_secret} if settings.jwt_secret_generated else {}
        log.info("starting %d workers on %s", settings.workers, settings.bind)
        trio.run(
            partial(
                supervise_workers,
                settings.workers,
                worker_argv,
                stop_timeout=settings.drain_timeout + 5,
                env=env,
            )
        )
        return 0
    parent = os.environ.get(WORKER_ENV, "")
    worker = parent.isdigit()
    trigger = partial(_wait_for_signal_or_orphaned, int(parent)) if worker else _wait_for_signal
    tune_gc()
    try:
        trio.run(partial(serve, settings, shutdown_trigger=trigger, reuse_port=worker))
    except StorageError as exc:
        raise ConfigError(f"cannot open the database {settings.database_url!r}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot listen on {settings.bind}: {exc.strerror or exc}") from None
    return 0


def tune_gc() -> None:
    """Collect less often, and never look again at what the imports made (`gc.freeze`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _without_workers(argv: list[str]) -> list[str]:
    """The command line without its `--workers N` (the workers run one process each)."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            kept.append(arg)
    return kept


async def _wait_for_signal_or_orphaned(parent: int) -> None:
    """A worker's shutdown trigger: a signal, or its parent gone (killed with SIGKILL, it
    could pass nothing on): a worker never outlives its supervisor."""
    async with trio.open_nursery() as nursery:

        async def orphaned() -> None:
            # No event says so: a process learns of its parent's death only by asking.
            while os.getppid() == parent:  # noqa: ASYNC110
                await trio.sleep(ORPHAN_CHECK)
            log.warning("the parent process (pid %d) is gone: stopping", parent)
            nursery.cancel_scope.cancel()

        nursery.start_soon(orphaned)
        await _wait_for_signal()
        nursery.cancel_scope.cancel()


async def _wait_for_signal() -> None:
    """`serve`'s shutdown trigger: the first SIGTERM or SIGINT."""
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("received %s", signal.Signals(signum).name)
            return
