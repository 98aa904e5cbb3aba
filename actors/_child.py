"""Per-child bookkeeping of a supervisor, kept small: thousands may exist at once."""

from __future__ import annotations

import enum
from typing import Any, Literal

import trio

from ._spec import ChildSpec, Restart

__all__ = ["Child", "Mode", "ReadyStatus", "StopReason"]

StopReason = Literal["", "stop", "restart"]


class Mode(enum.Enum):
    """How a child task was started, which decides what a failure before ready means."""

    AWAITED = enum.auto()  # Supervisor.start: the caller gets the error
    SOON = enum.auto()  # start_soon or an in-place restart: nobody waits
    RESTART = (
        enum.auto()
    )  # a restart round (one-for-all, rest-for-one) waits: release it, then report the crash


class Child:
    """Bookkeeping for one child, kept across its restarts."""

    __slots__ = ("exited", "restarts", "running", "scope", "spec", "stop_reason")

    def __init__(self, spec: ChildSpec[Any], *, shield: bool) -> None:
        self.spec = spec
        self.scope = trio.CancelScope(shield=shield)
        self.restarts = 0
        self.running = True
        self.stop_reason: StopReason = ""
        self.exited: trio.Event | None = None  # created only by someone who waits

    @property
    def temporary(self) -> bool:
        return self.spec.restart is Restart.TEMPORARY


class ReadyStatus(trio.TaskStatus[object]):
    """Passes ``started`` on and shields the child: from then on it is ours to stop."""

    __slots__ = ("_inner", "_scope", "ready")

    def __init__(self, inner: trio.TaskStatus[Any], scope: trio.CancelScope) -> None:
        self._inner = inner
        self._scope = scope
        self.ready = False

    def started(self, value: object = None) -> None:
        self.ready = True
        self._scope.shield = True
        self._inner.started(value)
