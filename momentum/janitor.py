"""The janitor actor: periodic cleanup of stale connections and expired messages.

Every `period` it asks the hub to close connections that showed no sign of life (no frame,
no pong) for `idle_timeout` (`WS_CLEANUP_INTERVAL`), and purges stored messages whose TTL
passed unacknowledged or whose history retention ended (room messages too, by age, in
batches of `ROOM_PURGE_BATCH`); and closes, like a disabled user's
(4003), the connections of users that are gone from the store or were disabled in it
directly (not through the API, which closes them at once). `POST /ws/cleanup` runs the same
sweep at once through `RunNow`. In a cluster every node's janitor sweeps its own
connections. The heartbeat catches dead peers sooner; the janitor is the backstop for
connections that stay open but silent (for example with pings disabled).

Supervision: permanent, restarted after a crash (its state is only the time of the next
sweep); a failed purge (`StorageError`) is logged and tried again next period.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import trio

from actors import ActorError, ActorGone, ActorRef, Mailbox, Reply

from .config import CALL_TIMEOUT
from .hub import HubMsg, SetUserActive, Sweep, all_online
from .storage import StorageError, Store

log = logging.getLogger("momentum.janitor")


@dataclass(frozen=True, slots=True)
class RunNow:
    """call: sweep now; reply the number of connections closed (None: a cast, the cleanup
    asked on another node of the cluster)."""

    reply: Reply[int] | None


JanitorMsg = RunNow

#: Room messages deleted per transaction, and transactions per sweep at most (the rest
#: waits for the next sweep: a sweep never holds the store for long).
ROOM_PURGE_BATCH = 5_000
ROOM_PURGE_BATCHES = 20


@dataclass(frozen=True, slots=True)
class Retention:
    """What to delete: stored messages past their TTL, history past its retention, records
    of tokens that have expired (revocations, refresh tokens)."""

    store: Store
    history: float  # seconds an acknowledged message is kept as history
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)


async def serve_janitor(
    mailbox: Mailbox[JanitorMsg],
    *,
    hub: ActorRef[HubMsg],
    idle_timeout: float,
    period: float,
    retention: Retention | None = None,
    users: Store | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Sweep every `period` seconds and whenever asked."""
    task_status.started()
    next_sweep = trio.current_time() + period
    while True:
        request: RunNow | None = None
        with trio.move_on_at(next_sweep):
            request = await mailbox.receive()
        try:
            removed = await _sweep(hub, idle_timeout)
            if users is not None:
                await _close_vanished_users(hub, users)
            if retention is not None:
                await _purge(retention)
        except Exception:  # crashing: whoever asked hears it now, not at its timeout
            if request is not None and request.reply is not None:
                request.reply.fail(ActorGone("the janitor crashed"))
            raise
        if request is not None and request.reply is not None:
            request.reply.send(removed)
        else:
            next_sweep = trio.current_time() + period


async def _purge(retention: Retention) -> None:
    now = retention.wall_clock()
    try:
        purged = await retention.store.purge_messages(
            now=now, retain_until=now - timedelta(seconds=retention.history)
        )
        tokens = await retention.store.purge_tokens(now)
        rooms = await _purge_room_messages(
            retention.store, now - timedelta(seconds=retention.history)
        )
    except StorageError as exc:
        log.warning("message purge skipped: %s", exc)
        return
    if purged or tokens or rooms:
        log.info(
            "janitor purged %d stored message(s), %d room message(s), %d expired token record(s)",
            purged,
            rooms,
            tokens,
        )


async def _purge_room_messages(store: Store, created_before: datetime) -> int:
    """Room messages older than the history retention, `ROOM_PURGE_BATCH` at a time."""
    purged = 0
    for _ in range(ROOM_PURGE_BATCHES):
        batch = await store.purge_room_messages(
            created_before=created_before, limit=ROOM_PURGE_BATCH
        )
        purged += batch
        if batch < ROOM_PURGE_BATCH:
            break
    return purged


async def _sweep(hub: ActorRef[HubMsg], idle_timeout: float) -> int:
    idle_before = trio.current_time() - idle_timeout
    try:
        removed: int = await hub.call(lambda reply: Sweep(idle_before, reply), timeout=CALL_TIMEOUT)
    except ActorError as exc:
        log.warning("sweep skipped: %s", exc)
        return 0
    if removed:
        log.info("janitor closed %d idle connection(s)", removed)
    return removed


async def _close_vanished_users(hub: ActorRef[HubMsg], store: Store) -> None:
    """Close the connections of users the store no longer has, or has inactive (one query
    for every user online here)."""
    try:
        online = await all_online(hub, call_timeout=CALL_TIMEOUT)
        known = await store.get_users([u.user_id for u in online])
    except (ActorError, StorageError) as exc:
        log.warning("check of online users skipped: %s", exc)
        return
    for user in online:
        found = known.get(user.user_id)
        if found is None or not found.is_active:
            why = "deleted" if found is None else "disabled in the store"
            log.info("closing the connections of user %s: %s", user.user_id, why)
            await hub.cast(SetUserActive(user.user_id, active=False, reply=None))
