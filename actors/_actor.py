"""The usual way to run an actor: a mailbox, a body that reads it, a child spec."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol, TypeVar

import trio

from ._mailbox import Mailbox
from ._spec import ChildSpec, Restart

__all__ = ["ActorMain", "actor_spec"]

M = TypeVar("M")


class ActorMain(Protocol[M]):
    """An actor's body: ``async def run(inbox, *, task_status)``.

    It calls ``task_status.started()`` once ready, then reads `inbox`.
    """

    def __call__(
        self, inbox: Mailbox[M], /, *, task_status: trio.TaskStatus[None]
    ) -> Awaitable[object]: ...


def actor_spec(
    name: str,
    run: ActorMain[M],
    inbox: Mailbox[M],
    *,
    restart: Restart = Restart.PERMANENT,
    shutdown_timeout: float | None = None,
) -> ChildSpec[None]:
    """A child spec running ``run(inbox)``; `inbox` is closed when the child ends for good.

    The mailbox belongs to the spec, not to one run of `run`: a restarted actor
    reads the same mailbox, so refs to it stay valid across restarts.
    """

    async def start(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await run(inbox, task_status=task_status)

    return ChildSpec(name, start, restart, shutdown_timeout, on_exit=inbox.close)
