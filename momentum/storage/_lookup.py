"""The user lookup actor: who a handshake's token belongs to, and whether a new connection
has stored messages to replay, looked up in batches.

Every WebSocket handshake needs its user from the store (it must exist and be active), and
every new connection must know whether its user holds stored messages. One query each
would cost a connection storm two database round trips per handshake — with SQLite, two
trips through the worker thread, whose GIL hand-overs dominate under load. The lookup actor
takes every request already waiting in its mailbox and answers the lookups with one
`get_users` query and the pending counts with one `pending_counts` query (a read of the
totals the store keeps by trigger). A user with nothing pending then costs no replay query.
Overflow policy: callers `call` it under a timeout; a handshake that cannot be answered in
time is refused with 503, a replay that cannot be is skipped (its messages stay pending).

Crashes: a failed query (`StorageError`) refuses that batch's handshakes and the actor goes
on. Anything else is a bug: the batch's callers get a `StorageError` (503) and the actor
crashes; its supervisor restarts it on the same mailbox.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import trio

from actors import Mailbox, Reply

from ._errors import StorageError
from ._outage import Outage
from ._protocol import Store
from ._types import User

log = logging.getLogger("momentum.storage.lookup")

#: Lookups answered by one query.
BATCH = 1000
LOOKUP_MAILBOX = 4096


@dataclass(frozen=True, slots=True)
class Lookup:
    """call: the user with this id, or None if there is none."""

    user_id: uuid.UUID
    reply: Reply[User | None]


@dataclass(frozen=True, slots=True)
class PendingCount:
    """call: how many messages `user_id` holds pending (0: nothing to replay)."""

    user_id: uuid.UUID
    reply: Reply[int]


LookupMsg = Lookup | PendingCount


async def serve_lookup(
    mailbox: Mailbox[LookupMsg],
    *,
    store: Store,
    on_error: Callable[[], None] = lambda: None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Answer lookups in batches until cancelled; a store failure fails the whole batch."""
    outage = Outage(log, on_error)
    task_status.started()
    while True:
        batch = await mailbox.receive_batch(BATCH)
        lookups = [m for m in batch if isinstance(m, Lookup)]
        counts = [m for m in batch if isinstance(m, PendingCount)]
        try:
            if lookups:
                users = await store.get_users([m.user_id for m in lookups])
            if counts:
                pending = await store.pending_counts([m.user_id for m in counts])
        except Exception as exc:
            outage.failed(f"user lookup failed for {len(batch)} connection(s)", exc)
            failure = exc if isinstance(exc, StorageError) else StorageError(repr(exc))
            for message in batch:
                message.reply.fail(failure)
            if isinstance(exc, StorageError):
                continue
            raise
        outage.answered()
        for lookup in lookups:
            lookup.reply.send(users.get(lookup.user_id))
        for count in counts:
            count.reply.send(pending.get(count.user_id, 0))
