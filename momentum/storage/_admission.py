"""Which messages of a batch the store takes: the recipient must exist and have room.

Every recipient has a pending quota — how many undelivered messages, and how many bytes of
them, the store keeps for it — so that no sender can fill the disk by writing to one user
(or to ids nobody owns). Each backend reads, in the transaction that inserts the batch, what
the batch's recipients already hold (one query for all of them); `admit` decides from that.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ._types import NewMessage, Owners, message_id

MIB = 1024 * 1024
K = TypeVar("K")


class SaveRefusal(enum.Enum):
    """Why the store did not take a message."""

    DUPLICATE_ID = "duplicate_id"  # another message holds its id
    UNKNOWN_RECIPIENT = "unknown_recipient"  # no user has the recipient's id
    RECIPIENT_QUOTA = "recipient_quota"  # the recipient's pending messages are at the quota


@dataclass(frozen=True, slots=True)
class RecipientLimits:
    """What the store keeps pending for one recipient (unacknowledged, unexpired)."""

    max_pending_count: int = 10_000
    max_pending_bytes: int = 32 * MIB


@dataclass(frozen=True, slots=True)
class Pending:
    """A recipient's pending messages: how many, and the bytes of their envelopes."""

    count: int = 0
    bytes: int = 0


def admit(
    messages: Sequence[NewMessage],
    recipients: Sequence[K],
    held: Mapping[K, Pending],
    limits: RecipientLimits,
) -> dict[NewMessage, SaveRefusal]:
    """The messages to refuse, in batch order: to a recipient not in `held` (no such user),
    or beyond its quota counting the batch's earlier messages to it. `recipients[i]` is the
    recipient of `messages[i]` as `held` knows it (a backend's own form of the id)."""
    # Plain ints and the backend's keys in the loop: it runs for every message stored
    # (UUID objects hash in Python, and cost a tenth of SQLite's throughput here).
    counts = {recipient: pending.count for recipient, pending in held.items()}
    sizes = {recipient: pending.bytes for recipient, pending in held.items()}
    max_count, max_bytes = limits.max_pending_count, limits.max_pending_bytes
    refused: dict[NewMessage, SaveRefusal] = {}
    for message, recipient in zip(messages, recipients, strict=True):
        count = counts.get(recipient)
        if count is None:
            refused[message] = SaveRefusal.UNKNOWN_RECIPIENT
            continue
        size = sizes[recipient] + len(message.envelope)
        if count >= max_count or size > max_bytes:
            refused[message] = SaveRefusal.RECIPIENT_QUOTA
            continue
        counts[recipient], sizes[recipient] = count + 1, size
    return refused


def quota_refused_ids(refused: Mapping[NewMessage, SaveRefusal]) -> list[str]:
    """The ids of the messages refused for the quota: retries among them must be found."""
    return [message_id(m.id) for m, why in refused.items() if why is SaveRefusal.RECIPIENT_QUOTA]


def forgive_retries(refused: dict[NewMessage, SaveRefusal], stored: Mapping[str, Owners]) -> None:
    """A message refused for the quota that the store already holds — the same id, sender and
    recipient — is a retry of a stored message: it is stored, not refused (a retry never
    turns `stored: true` into `false`). `stored` is who the stored ids are from and to."""
    for message in [m for m, why in refused.items() if why is SaveRefusal.RECIPIENT_QUOTA]:
        if stored.get(message_id(message.id)) == (message.sender_id, message.recipient_id):
            del refused[message]
