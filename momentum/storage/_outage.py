"""An actor's view of whether the store answers: one WARNING line when it starts failing, one
INFO line when it answers again, and in between only counts (an outage under load would
otherwise log a line per batch)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio


class Outage:
    """Owned by one actor (the writer, the lookup); `on_failure` counts every failure."""

    def __init__(self, log: logging.Logger, on_failure: Callable[[], None]) -> None:
        self._log = log
        self._on_failure = on_failure
        self._since: float | None = None
        self._failures = 0

    def failed(self, what: str, exc: BaseException) -> None:
        """An operation failed: `what` says which, for the first line of an outage."""
        self._on_failure()
        self._failures += 1
        if self._since is None:
            self._since = trio.current_time()
            self._log.warning("storage down: %s: %s", what, exc)

    def answered(self) -> None:
        """An operation succeeded: if the store was down, say for how long."""
        if self._since is None:
            return
        self._log.info(
            "storage back after %.1f s (%d operation(s) failed meanwhile)",
            trio.current_time() - self._since,
            self._failures,
        )
        self._since, self._failures = None, 0
