"""Records the store reads and writes."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class User:
    """A stored user. `email` is lowercased; `created_at` is timezone-aware UTC."""

    id: uuid.UUID
    email: str
    username: str
    password_hash: str
    is_active: bool
    is_admin: bool
    created_at: datetime


#: The `users` columns a `User` is read from, in this order, on every backend.
USER_COLUMNS = "id, email, username, password_hash, is_active, is_admin, created_at"


@dataclass(frozen=True, slots=True)
class NewUser:
    """What a caller provides to create a user; the store assigns id and created_at."""

    email: str
    username: str
    password_hash: str
    is_admin: bool = False
    is_active: bool = True


def email_key(email: str) -> str:
    """The stored (and looked-up) form of an email: lowercased and trimmed."""
    return email.strip().lower()


def user_from_new(new: NewUser) -> User:
    """The user a `NewUser` becomes: a fresh id, the email lowercased, created now."""
    return User(
        id=uuid.uuid4(),
        email=email_key(new.email),
        username=new.username,
        password_hash=new.password_hash,
        is_active=new.is_active,
        is_admin=new.is_admin,
        created_at=datetime.now(UTC),
    )


def username_key(username: str) -> str:
    """Usernames are unique and found regardless of case."""
    return username.casefold()


#: The most messages one `Store.conversation` call returns.
MAX_CONVERSATION_LIMIT = 200


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A direct message to store until its recipient acknowledges it.

    `id` is the envelope's UUID string (saving the same message again is a no-op, so a
    retried save cannot duplicate; another message under a taken id is refused);
    `sender_id` None means the system;
    `envelope` is the exact JSON bytes sent to clients; `created_at` and
    `expires_at` are timezone-aware (the message stays pending until `expires_at`).
    """

    id: str
    sender_id: uuid.UUID | None
    recipient_id: uuid.UUID
    message_type: str
    envelope: bytes
    created_at: datetime
    expires_at: datetime


#: Who a stored message is from and to: `(sender_id, recipient_id)`.
Owners = tuple[uuid.UUID | None, uuid.UUID]


def ids_to_verify(messages: Sequence[NewMessage], inserted: Collection[str]) -> list[str]:
    """The ids of a saved batch whose rows may be another message's: the INSERT skipped
    them (the id was taken) or the batch holds them more than once."""
    counts = Counter(message_id(m.id) for m in messages)
    return [i for i, n in counts.items() if n > 1 or i not in inserted]


def refused_ids(
    messages: Sequence[NewMessage], verified: Collection[str], owners: Mapping[str, Owners]
) -> frozenset[NewMessage]:
    """The messages whose id is among `verified` and whose stored row is not from their
    sender to their recipient: they were not stored (a retry of the same message was)."""
    return frozenset(
        m
        for m in messages
        if (key := message_id(m.id)) in verified
        and owners.get(key) != (m.sender_id, m.recipient_id)
    )


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message read back. `seq` orders delivery: higher was saved later.

    `id` is the canonical (lowercase) UUID string; `created_at` is UTC.
    """

    id: str
    seq: int
    sender_id: uuid.UUID | None
    recipient_id: uuid.UUID
    message_type: str
    envelope: bytes
    created_at: datetime


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def message_id(value: str) -> str:
    """The canonical form of a message id; `ValueError` if it is not a UUID."""
    # The server's own ids are already canonical: checking is 10x cheaper than parsing.
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value
    return str(uuid.UUID(value))


def utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is a caller bug (`ValueError`), not a guess."""
    if moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: storage needs timezone-aware times")
    return moment.astimezone(UTC)


def check_limit(limit: int, maximum: int | None = None) -> None:
    """`ValueError` unless 1 <= limit (<= maximum)."""
    if limit < 1 or (maximum is not None and limit > maximum):
        bound = "" if maximum is None else f" and <= {maximum}"
        raise ValueError(f"limit must be >= 1{bound}, got {limit}")


def ack_ids(ids: Sequence[str]) -> list[str]:
    """The canonical, distinct UUIDs among `ids`; anything else cannot match a message."""
    found: dict[str, None] = {}
    for value in ids:
        try:
            found[message_id(value)] = None
        except (ValueError, TypeError, AttributeError):
            continue
    return list(found)


#: `history_cursor` stand-ins for "no bound": later than any stored message.
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)
_MAX_SEQ = 2**63 - 1


def history_cursor(before: datetime | None, before_seq: int | None) -> tuple[datetime, int]:
    """The `(created_at, seq)` bound of a `conversation` page (exclusive).

    `before` alone bounds by time (`created_at < before`); with `before_seq`, the
    bound is the message `(before, before_seq)` itself, so paging by the last
    message seen never skips or repeats messages that share a timestamp.
    """
    if before is None:
        if before_seq is not None:
            raise ValueError("before_seq needs before: the cursor is (created_at, seq)")
        return _END_OF_TIME, _MAX_SEQ
    return utc(before), 0 if before_seq is None else before_seq
