"""The directory actor: who a handshake's token belongs to, looked up in batches.

Every WebSocket handshake needs its user from the store (it must exist and be active). One
query per handshake would cost a connection storm one database round trip each — with
SQLite, one trip through the worker thread, whose GIL hand-overs dominate under load. The
directory takes every lookup already waiting in its mailbox and answers them with one
`get_users` query. Overflow policy: callers `call` it under a timeout; a handshake that
cannot be answered in time is refused with 503.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import trio

from actors import Mailbox, Reply

from ..storage import StorageError, Store, User

log = logging.getLogger("momentum.directory")

#: Lookups answered by one query.
BATCH = 1000
DIRECTORY_MAILBOX = 4096


@dataclass(frozen=True, slots=True)
class Lookup:
    """call: the user with this id, or None if there is none."""

    user_id: uuid.UUID
    reply: Reply[User | None]


DirectoryMsg = Lookup


async def serve_directory(
    mailbox: Mailbox[DirectoryMsg],
    *,
    store: Store,
    on_error: Callable[[], None] = lambda: None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Answer lookups in batches until cancelled; a store failure fails the whole batch."""
    task_status.started()
    while True:
        batch = await mailbox.receive_batch(BATCH)
        try:
            users = await store.get_users([lookup.user_id for lookup in batch])
        except Exception as exc:
            # A failed query (or a bug behind it) refuses these handshakes, and only them:
            # the directory must not stop the process (the root is one-for-all).
            on_error()
            log.warning("user lookup failed for %d handshake(s): %r", len(batch), exc)
            failure = exc if isinstance(exc, StorageError) else StorageError(repr(exc))
            for lookup in batch:
                lookup.reply.fail(failure)
            continue
        for lookup in batch:
            lookup.reply.send(users.get(lookup.user_id))
