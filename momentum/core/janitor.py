"""The janitor actor: periodic cleanup of stale connections.

Every `period` it asks the hub to close connections that showed no sign of life (no frame,
no pong) for `idle_timeout` (`WS_CLEANUP_INTERVAL`); `POST /ws/cleanup` runs the same sweep
at once through `RunNow`. The heartbeat catches dead peers sooner; the janitor is the
backstop for connections that stay open but silent (for example with pings disabled).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NoReturn

import trio

from actors import ActorError, ActorRef, Mailbox, Reply

from ._messages import HubMsg, Sweep

log = logging.getLogger("momentum.janitor")

_HUB_CALL_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class RunNow:
    """call: sweep now; reply the number of connections closed."""

    reply: Reply[int]


JanitorMsg = RunNow


async def serve_janitor(
    mailbox: Mailbox[JanitorMsg],
    *,
    hub: ActorRef[HubMsg],
    idle_timeout: float,
    period: float,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Sweep every `period` seconds and whenever asked."""
    task_status.started()
    next_sweep = trio.current_time() + period
    while True:
        request: RunNow | None = None
        with trio.move_on_at(next_sweep):
            request = await mailbox.receive()
        removed = await _sweep(hub, idle_timeout)
        if request is not None:
            request.reply.send(removed)
        else:
            next_sweep = trio.current_time() + period


async def _sweep(hub: ActorRef[HubMsg], idle_timeout: float) -> int:
    idle_before = trio.current_time() - idle_timeout
    try:
        removed: int = await hub.call(
            lambda reply: Sweep(idle_before, reply), timeout=_HUB_CALL_TIMEOUT
        )
    except ActorError as exc:
        log.warning("sweep skipped: %s", exc)
        return 0
    if removed:
        log.info("janitor closed %d idle connection(s)", removed)
    return removed
