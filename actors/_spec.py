"""What a supervisor is told (child specs, strategies) and what it reports."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import trio

__all__ = [
    "ChildSpec",
    "ChildStatistics",
    "Restart",
    "StartFunction",
    "Strategy",
    "SupervisorStatistics",
]

V = TypeVar("V")
V_co = TypeVar("V_co", covariant=True)


class Strategy(enum.Enum):
    """Who is restarted when a child crashes."""

    #: Only the crashed child. For independent children (one per connection).
    ONE_FOR_ONE = "one_for_one"
    #: Every child: stop all in reverse start order, start all in start order.
    #: For children that cannot run without each other (root services).
    ONE_FOR_ALL = "one_for_all"
    #: The crashed child and every child started after it: stop those in reverse
    #: start order, start them in start order; earlier children run on. For a
    #: group whose later members hold references into earlier ones.
    REST_FOR_ONE = "rest_for_one"


class Restart(enum.Enum):
    """When a child that ended is started again (Erlang's restart types)."""

    #: Always: after a crash and after a normal return.
    PERMANENT = "permanent"
    #: Never; its crash is logged and disturbs no sibling.
    TEMPORARY = "temporary"


class StartFunction(Protocol[V_co]):
    """A child's body, started like ``nursery.start``.

    It calls ``task_status.started(value)`` once ready; `Supervisor.start`
    returns that value.
    """

    def __call__(self, *, task_status: trio.TaskStatus[V_co]) -> Awaitable[object]: ...


@dataclass(frozen=True, slots=True)
class ChildSpec(Generic[V]):
    """How to start, restart and stop one child.

    `start` is called afresh on every restart, so a restarted child begins with
    fresh state. `shutdown_timeout` (seconds) bounds how long a stop waits for
    the child after cancelling it; None means the supervisor's default.
    `on_exit` runs once when the child ends for good (never on a restart), for
    example to close its mailbox so callers get `ActorGone`.
    """

    name: str
    start: StartFunction[V]
    restart: Restart = Restart.PERMANENT
    shutdown_timeout: float | None = None
    on_exit: Callable[[], object] | None = None


@dataclass(frozen=True, slots=True)
class ChildStatistics:
    """A snapshot of one non-temporary child."""

    name: str
    restart: Restart
    restarts: int
    running: bool


@dataclass(frozen=True, slots=True)
class SupervisorStatistics:
    """A snapshot of a supervisor.

    `children` lists the non-temporary children in start order; temporary
    children (possibly thousands) are only counted in `temporary_running`.
    `restarts` counts restart decisions (one per one-for-all or rest-for-one
    round).
    """

    name: str
    strategy: Strategy
    restarts: int
    children: tuple[ChildStatistics, ...]
    temporary_running: int
