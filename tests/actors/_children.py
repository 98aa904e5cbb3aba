"""Children for the supervision tests: a journal of what they did, and a probe child."""

from __future__ import annotations

from dataclasses import dataclass, field

import trio

from actors import ChildSpec, Restart


class Injected(Exception):
    """The fault the tests inject into children."""


@dataclass
class Journal:
    """What children did, with the Trio time they did it."""

    events: list[tuple[str, str, float]] = field(default_factory=list)

    def log(self, what: str, name: str) -> None:
        self.events.append((what, name, trio.current_time()))

    def of(self, what: str) -> list[str]:
        return [name for kind, name, _ in self.events if kind == what]


def probe(
    journal: Journal,
    name: str,
    *,
    crash_after: float | None = None,
    return_after: float | None = None,
    cleanup: float = 0.0,
    restart: Restart = Restart.PERMANENT,
    shutdown_timeout: float | None = None,
) -> ChildSpec[str]:
    """A child that logs start/stop, may crash or return, and takes `cleanup` s to stop."""

    async def start(*, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        journal.log("start", name)
        task_status.started(name)
        try:
            if crash_after is not None:
                await trio.sleep(crash_after)
                journal.log("crash", name)
                raise Injected(name)
            if return_after is not None:
                await trio.sleep(return_after)
                journal.log("return", name)
                return
            await trio.sleep_forever()
        except trio.Cancelled:
            with trio.CancelScope(shield=True):
                await trio.sleep(cleanup)
            journal.log("stop", name)
            raise

    return ChildSpec(name, start, restart, shutdown_timeout)
