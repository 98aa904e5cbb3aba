"""PostgreSQL messages: the SQL and the row conversions `PostgresStore` runs.

No asyncio here: `_postgres` runs these statements on its pool.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from ._types import NewMessage, Owners, StoredMessage, message_id, utc

#: pg_advisory_xact_lock key serializing message inserts, so that seq order is
#: commit order: a reader that has seen seq n never later finds a pending
#: message with a smaller seq appear (which "seq > n" paging would skip).
MESSAGES_LOCK_KEY = 0x6D6F6D656E2D6D73  # "momen-ms"

_COLUMNS = "id, seq, sender_id, recipient_id, message_type, envelope, created_at"

LOCK = "SELECT pg_advisory_xact_lock($1)"
# One statement for the whole batch, arrays in and rows out in array order;
# ON CONFLICT DO NOTHING makes a re-save (or a retry after a lost reply) a no-op.
INSERT = (
    "INSERT INTO messages (id, sender_id, recipient_id, message_type, envelope,"
    " created_at, expires_at)"
    " SELECT id, sender_id, recipient_id, message_type, envelope, created_at, expires_at"
    " FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bytea[],"
    " $6::timestamptz[], $7::timestamptz[]) WITH ORDINALITY"
    " AS m(id, sender_id, recipient_id, message_type, envelope, created_at, expires_at, n)"
    " ORDER BY n ON CONFLICT (id) DO NOTHING RETURNING id"
)
# What each recipient that is a user holds pending (`pending_totals`, kept by triggers); a
# recipient missing from the answer is no user.
HELD = (
    "SELECT u.id, coalesce(t.count, 0) AS count, coalesce(t.bytes, 0) AS bytes FROM users u"
    " LEFT JOIN pending_totals t ON t.recipient_id = u.id WHERE u.id = ANY($1::uuid[])"
)
PENDING_COUNTS = (
    "SELECT recipient_id, count FROM pending_totals"
    " WHERE count > 0 AND recipient_id = ANY($1::uuid[])"
)
OWNERS = "SELECT id, sender_id, recipient_id FROM messages WHERE id = ANY($1::uuid[])"
PENDING = (
    f"SELECT {_COLUMNS} FROM messages"
    " WHERE recipient_id = $1 AND acked_at IS NULL AND seq > $2 AND expires_at > $3"
    " ORDER BY seq LIMIT $4"
)
COUNT_PENDING = "SELECT count(*) FROM messages WHERE acked_at IS NULL AND expires_at > $1"
COUNT_PENDING_FOR = (
    "SELECT count(*) FROM messages WHERE recipient_id = $2 AND acked_at IS NULL AND expires_at > $1"
)
ACK = (
    "UPDATE messages AS m SET acked_at = $1"
    " FROM unnest($2::uuid[], $3::uuid[]) AS a(id, recipient_id)"
    " WHERE m.id = a.id AND m.recipient_id = a.recipient_id AND m.acked_at IS NULL"
)
PURGE_EXPIRED = "DELETE FROM messages WHERE acked_at IS NULL AND expires_at <= $1"
PURGE_ACKED = "DELETE FROM messages WHERE acked_at IS NOT NULL AND created_at < $1"

# Each direction walks the conversation index newest first and stops at the
# limit; the outer query merges the two. The second direction is skipped for a
# conversation with oneself, which would otherwise list every message twice.


def _direction(sender: str, recipient: str, extra: str = "") -> str:
    return (
        f"(SELECT {_COLUMNS} FROM messages"
        f" WHERE sender_id = {sender} AND recipient_id = {recipient}{extra}"
        " AND (created_at, seq) < ($3, $4) ORDER BY created_at DESC, seq DESC LIMIT $5)"
    )


CONVERSATION = (
    f"{_direction('$1', '$2')} UNION ALL {_direction('$2', '$1', ' AND $1 <> $2')}"
    " ORDER BY created_at DESC, seq DESC LIMIT $5"
)


def insert_arrays(messages: Sequence[NewMessage]) -> tuple[list[Any], ...]:
    """The batch as one array per column, for `INSERT`."""
    return (
        [message_id(m.id) for m in messages],
        [m.sender_id for m in messages],
        [m.recipient_id for m in messages],
        [m.message_type for m in messages],
        [m.envelope for m in messages],
        [utc(m.created_at) for m in messages],
        [utc(m.expires_at) for m in messages],
    )


def row_count(status: str) -> int:
    """The count of a command tag such as `UPDATE 3` or `DELETE 0`."""
    return int(status.rpartition(" ")[2])


def owners(row: Any) -> Owners:
    """Who a stored message (a row of `OWNERS`) is from and to."""
    sender = row["sender_id"]
    return (
        None if sender is None else uuid.UUID(int=sender.int),
        uuid.UUID(int=row["recipient_id"].int),
    )


def stored(row: Any) -> StoredMessage:
    sender = row["sender_id"]
    return StoredMessage(
        id=str(row["id"]),
        seq=row["seq"],
        sender_id=None if sender is None else uuid.UUID(int=sender.int),
        recipient_id=uuid.UUID(int=row["recipient_id"].int),
        message_type=row["message_type"],
        envelope=row["envelope"],
        created_at=row["created_at"].astimezone(UTC),
    )
