"""SQLite: saving a batch of messages, less what `admit` refuses, and recording a batch
of acks — alone, or both in one transaction (the store writer's batch: one commit).

Runs in the store's worker thread (`SqliteStore._run`); the parameters are built in the
event loop beforehand, so that the thread only runs SQL.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from . import _sqlite_messages as sql_messages
from . import _sqlite_pending as sql_pending
from ._admission import RecipientLimits, SaveRefusal, admit, forgive_retries, quota_refused_ids
from ._sqlite_transaction import transaction
from ._types import NewMessage, ack_ids, ids_to_verify, message_id, refused_ids

Statements = list[tuple[str, list[object]]]


class SaveBatch:
    """A batch of messages to save, its rows built in the event loop."""

    __slots__ = ("keys", "limits", "messages", "rows")

    def __init__(self, messages: Sequence[NewMessage], limits: RecipientLimits | None) -> None:
        self.messages = messages
        self.limits = limits
        self.rows = [sql_messages.insert_row(m) for m in messages]
        self.keys = [str(row[2]) for row in self.rows]  # recipients' ids as stored

    def save(self, conn: sqlite3.Connection) -> dict[NewMessage, SaveRefusal]:
        """Insert the batch, less what `admit` refuses; what was refused.

        No transaction of its own around the read and the insert: this connection runs one
        call at a time, and only it writes messages (and `pending_totals`, by triggers).
        """
        refused: dict[NewMessage, SaveRefusal] = {}
        saved, taken = self.messages, self.rows
        if self.limits is not None:
            held = sql_pending.held(conn, sorted(set(self.keys)))
            refused = admit(self.messages, self.keys, held, self.limits)
            if retried := quota_refused_ids(refused):
                forgive_retries(refused, sql_messages.owners(conn, retried))
            if refused:
                kept = [i for i, m in enumerate(self.messages) if m not in refused]
                saved, taken = [self.messages[i] for i in kept], [self.rows[i] for i in kept]
                if not taken:
                    return refused
        written = execute_atomically(sql_messages.insert_many(taken), conn)
        # Every id new (the usual case): nothing to verify but the batch's own repeats.
        # Else the ids skipped are not known: each is verified by who its row is from and to.
        new = {message_id(m.id) for m in saved}
        verify = ids_to_verify(saved, new if written == len(new) else ())
        if verify:
            owners = sql_messages.owners(conn, verify)
            duplicates = refused_ids(saved, verify, owners)
            refused.update(dict.fromkeys(duplicates, SaveRefusal.DUPLICATE_ID))
        return refused


def ack_statements(now: datetime, acks: Mapping[uuid.UUID, Sequence[str]]) -> Statements:
    """The statements that record `acks` (each recipient's acked ids) at `now`."""
    pairs = [(str(recipient_id), i) for recipient_id, ids in acks.items() for i in ack_ids(ids)]
    return sql_messages.ack_many(sql_messages.timestamp(now), pairs) if pairs else []


def save_and_ack(
    batch: SaveBatch, acks: Statements, conn: sqlite3.Connection
) -> dict[NewMessage, SaveRefusal]:
    """The batch's messages, then its acks, in one transaction: all or nothing."""
    with transaction(conn):
        refused = batch.save(conn) if batch.rows else {}
        for sql, params in acks:
            conn.execute(sql, params)
    return refused


def execute_atomically(statements: Statements, conn: sqlite3.Connection) -> int:
    """Run the statements all or none; rows changed. One statement is atomic by itself and
    needs no BEGIN/COMMIT: each of those would be one more GIL round trip."""
    if len(statements) == 1:
        sql, params = statements[0]
        return conn.execute(sql, params).rowcount
    with transaction(conn):
        return sum(conn.execute(sql, params).rowcount for sql, params in statements)
