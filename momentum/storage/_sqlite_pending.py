"""SQLite: what the recipients of a batch hold pending, read to admit it (see `_admission`).

`pending_totals` is kept by triggers (migration 0005) in the statements that insert, ack and
delete messages; this module only reads it.
"""

from __future__ import annotations

import sqlite3
import uuid

from ._admission import Pending
from ._sqlite_messages import IDS_PER_STATEMENT


def held(conn: sqlite3.Connection, recipients: list[str]) -> dict[str, Pending]:
    """What each of `recipients` (ids as stored) that is a user holds pending (absent: no
    such user)."""
    found: dict[str, Pending] = {}
    for start in range(0, len(recipients), IDS_PER_STATEMENT):
        chunk = recipients[start : start + IDS_PER_STATEMENT]
        # One row for the whole chunk, not one per recipient: every row is one more step of
        # the statement, and each step releases and retakes the GIL, which the event loop
        # holds under load.
        sql = (
            "SELECT group_concat(u.id || ' ' || coalesce(t.count, 0) || ' '"
            " || coalesce(t.bytes, 0), ',') FROM users u"
            " LEFT JOIN pending_totals t ON t.recipient_id = u.id"
            f" WHERE u.id IN ({', '.join(['?'] * len(chunk))})"
        )
        (rows,) = conn.execute(sql, chunk).fetchone()
        for row in rows.split(",") if rows else ():
            user_id, count, size = row.split(" ")
            found[user_id] = Pending(int(count), int(size))
    return found


def pending_counts(conn: sqlite3.Connection, keys: list[str]) -> dict[uuid.UUID, int]:
    """How many messages each of `keys` (user ids as stored) holds pending, if any."""
    counts: dict[uuid.UUID, int] = {}
    for start in range(0, len(keys), IDS_PER_STATEMENT):
        chunk = keys[start : start + IDS_PER_STATEMENT]
        sql = (
            "SELECT recipient_id, count FROM pending_totals"
            f" WHERE count > 0 AND recipient_id IN ({', '.join(['?'] * len(chunk))})"
        )
        for user_id, count in conn.execute(sql, chunk):
            counts[uuid.UUID(user_id)] = count
    return counts
