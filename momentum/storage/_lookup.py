"""The user lookup actor: who a handshake's token belongs to, looked up in batches.

Every WebSocket handshake needs its user from the store (it must exist and be active). One
query per handshake would cost a connection storm one database round trip each — with
SQLite, one trip through the worker thread, whose GIL hand-overs dominate under load. The
lookup actor takes every lookup already waiting in its mailbox and answers them with one
`get_users` query. Overflow policy: callers `call` it under a timeout; a handshake that
cannot be answered in time is refused with 503.

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


LookupMsg = Lookup


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
        try:
            users = await store.get_users([lookup.user_id for lookup in batch])
        except Exception as exc:
            outage.failed(f"user lookup failed for {len(batch)} handshake(s)", exc)
            failure = exc if isinstance(exc, StorageError) else StorageError(repr(exc))
            for lookup in batch:
                lookup.reply.fail(failure)
            if isinstance(exc, StorageError):
                continue
            raise
        outage.answered()
        for lookup in batch:
            lookup.reply.send(users.get(lookup.user_id))
