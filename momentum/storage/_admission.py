"""Which messages of a batch the store takes: the recipient must exist and have room.

Every recipient has a pending quota — how many undelivered messages, and how many bytes of
them, the store keeps for it — so that no sender can fill the disk by writing to one user
(or to ids nobody owns). Each backend reads, in the transaction that inserts the batch, what
the batch's recipients already hold (one query for all of them); `admit` decides from that.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ._types import NewMessage

MIB = 1024 * 1024


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
    messages: Sequence[NewMessage], held: Mapping[uuid.UUID, Pending], limits: RecipientLimits
) -> dict[NewMessage, SaveRefusal]:
    """The messages to refuse, in batch order: to a recipient not in `held` (no such user),
    or beyond its quota counting the batch's earlier messages to it."""
    usage = dict(held)
    refused: dict[NewMessage, SaveRefusal] = {}
    for message in messages:
        now = usage.get(message.recipient_id)
        if now is None:
            refused[message] = SaveRefusal.UNKNOWN_RECIPIENT
            continue
        after = Pending(now.count + 1, now.bytes + len(message.envelope))
        if after.count > limits.max_pending_count or after.bytes > limits.max_pending_bytes:
            refused[message] = SaveRefusal.RECIPIENT_QUOTA
            continue
        usage[message.recipient_id] = after
    return refused
