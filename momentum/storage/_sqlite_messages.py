"""SQLite messages: the SQL and the row conversions `SqliteStore` runs.

Ids are canonical UUID strings; timestamps are fixed-width ISO 8601 UTC text
(microseconds, `+00:00`), so comparing the text compares the times.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime

from ._types import NewMessage, Owners, StoredMessage, message_id, utc

_COLUMNS = "id, seq, sender_id, recipient_id, message_type, envelope, created_at"

_INSERT_HEAD = (
    "INSERT INTO messages (id, sender_id, recipient_id, message_type, envelope,"
    " created_at, expires_at) VALUES "
)
_ROW = "(?, ?, ?, ?, ?, ?, ?)"
#: Rows in one INSERT statement: 7 parameters each, under SQLite's limit of 32766.
ROWS_PER_STATEMENT = 4000
#: Ids in one `IN (...)` list (a few more parameters, same limit).
IDS_PER_STATEMENT = 30000
#: Acks in one acknowledging UPDATE: 2 parameters each, and one more.
ACKS_PER_STATEMENT = 15000


def insert_many(rows: list[tuple[object, ...]]) -> list[tuple[str, list[object]]]:
    """The statements that insert `rows` in order: one multi-row INSERT per chunk.

    One statement for a whole batch, not one per row (`executemany`): every statement
    releases and retakes the GIL, and while the event loop keeps the GIL busy each retake can
    wait a whole switch interval. Measured with a busy main thread: 171 rows/s one by one,
    19,216 rows/s as one statement per 500 rows. No `RETURNING id` either: each row it
    returns is one more step, one more GIL round trip; the count of rows changed tells
    whether every id was new (`SaveBatch.save`).
    """
    statements = []
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        sql = _INSERT_HEAD + ", ".join([_ROW] * len(chunk)) + " ON CONFLICT (id) DO NOTHING"
        statements.append((sql, [value for row in chunk for value in row]))
    return statements


def owners(conn: sqlite3.Connection, ids: list[str]) -> dict[str, Owners]:
    """Who each of the stored messages `ids` is from and to."""
    found: dict[str, Owners] = {}
    for start in range(0, len(ids), IDS_PER_STATEMENT):
        chunk = ids[start : start + IDS_PER_STATEMENT]
        sql = (
            "SELECT id, sender_id, recipient_id FROM messages"
            f" WHERE id IN ({', '.join(['?'] * len(chunk))})"
        )
        for msg_id, sender, recipient in conn.execute(sql, chunk):
            sender_id = None if sender is None else uuid.UUID(sender)
            found[msg_id] = (sender_id, uuid.UUID(recipient))
    return found


def ack_many(now: str, pairs: list[tuple[str, str]]) -> list[tuple[str, list[object]]]:
    """The statements that mark pending messages acked, `pairs` giving (recipient, id) as
    stored: one statement for every recipient of a batch, a chunk each.

    Not one statement per recipient: each statement releases and retakes the GIL (see
    `insert_many`). The unique index on `id` finds the rows; the second list makes sure each
    is its recipient's.
    """
    statements = []
    for start in range(0, len(pairs), ACKS_PER_STATEMENT):
        chunk = pairs[start : start + ACKS_PER_STATEMENT]
        marks = ", ".join(["?"] * len(chunk))
        sql = (
            "UPDATE messages SET acked_at = ? WHERE acked_at IS NULL"
            f" AND id IN ({marks}) AND recipient_id || ' ' || id IN ({marks})"
        )
        params: list[object] = [now, *(i for _, i in chunk), *(f"{r} {i}" for r, i in chunk)]
        statements.append((sql, params))
    return statements


PENDING = (
    f"SELECT {_COLUMNS} FROM messages"
    " WHERE recipient_id = ? AND acked_at IS NULL AND seq > ? AND expires_at > ?"
    " ORDER BY seq LIMIT ?"
)
COUNT_PENDING = "SELECT count(*) FROM messages WHERE acked_at IS NULL AND expires_at > ?"
COUNT_PENDING_FOR = (
    "SELECT count(*) FROM messages WHERE recipient_id = ? AND acked_at IS NULL AND expires_at > ?"
)
PURGE_EXPIRED = "DELETE FROM messages WHERE acked_at IS NULL AND expires_at <= ?"
PURGE_ACKED = "DELETE FROM messages WHERE acked_at IS NOT NULL AND created_at < ?"

# Each direction walks the conversation index newest first and stops at the
# limit; the outer query merges the two. The second direction is skipped for a
# conversation with oneself, which would otherwise list every message twice.


def _direction(sender: str, recipient: str, extra: str = "") -> str:
    return (
        f"SELECT * FROM (SELECT {_COLUMNS} FROM messages"
        f" WHERE sender_id = {sender} AND recipient_id = {recipient}{extra}"
        " AND (created_at, seq) < (:before, :seq)"
        " ORDER BY created_at DESC, seq DESC LIMIT :limit)"
    )


CONVERSATION = (
    f"{_direction(':a', ':b')} UNION ALL {_direction(':b', ':a', ' AND :a <> :b')}"
    " ORDER BY created_at DESC, seq DESC LIMIT :limit"
)


def timestamp(moment: datetime) -> str:
    """The stored text of a time (`ValueError` if naive)."""
    return utc(moment).isoformat(timespec="microseconds")


def insert_row(message: NewMessage) -> tuple[object, ...]:
    sender = message.sender_id
    return (
        message_id(message.id),
        None if sender is None else str(sender),
        str(message.recipient_id),
        message.message_type,
        message.envelope,
        timestamp(message.created_at),
        timestamp(message.expires_at),
    )


def fetch(
    conn: sqlite3.Connection, sql: str, args: tuple[object, ...] | dict[str, object]
) -> list[StoredMessage]:
    return [_stored(row) for row in conn.execute(sql, args)]


def _stored(row: tuple[object, ...]) -> StoredMessage:
    msg_id, seq, sender, recipient, message_type, envelope, created_at = row
    assert isinstance(seq, int) and isinstance(envelope, bytes)
    return StoredMessage(
        id=str(msg_id),
        seq=seq,
        sender_id=None if sender is None else uuid.UUID(str(sender)),
        recipient_id=uuid.UUID(str(recipient)),
        message_type=str(message_type),
        envelope=envelope,
        created_at=datetime.fromisoformat(str(created_at)),
    )
