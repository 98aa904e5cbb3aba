"""The usual way to run an actor: a mailbox, a body that reads it, a child spec."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol, TypeVar

import trio

from ._mailbox import ActorRef, Mailbox, open_mailbox
from ._spec import ChildSpec, Restart
from ._supervisor import Supervisor

__all__ = ["ActorMain", "actor_spec", "spawn"]

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


async def spawn(
    supervisor: Supervisor,
    name: str,
    run: ActorMain[M],
    *,
    capacity: int,
    restart: Restart = Restart.PERMANENT,
    shutdown_timeout: float | None = None,
) -> ActorRef[M]:
    """Open a mailbox, start `run` on it under `supervisor`, return its ref once ready."""
    ref, inbox = open_mailbox[M](name, capacity)
    spec = actor_spec(name, run, inbox, restart=restart, shutdown_timeout=shutdown_timeout)
    await supervisor.start(spec)
    return ref
