"""The persistence actor: durable direct messages, written in batches (SPEC §7).

The hub hands it every direct message after the live delivery (`Persist`, a non-blocking
cast: the hub never waits for the database); connections hand it what their clients
acknowledged (`Acknowledge`). It takes everything already waiting in its mailbox as one
batch — one transaction for all the messages of a burst — and only after the commit tells
each sender `ack {stored: true}`. If the store fails the sender gets `stored: false` and an
`error` envelope (`storage_unavailable`); the message was still delivered live if the
recipient was online.

Overflow policy: the mailbox is bounded (`PERSIST_MAILBOX`). Connections wait before
publishing a direct message while it is more than half full (`Backlog`): a client that
sends faster than the store writes is slowed down, not refused. The hub itself never waits:
if the mailbox is full all the same, it refuses to take the message as durable and says so
to the sender (`stored: false`, `storage_busy`).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import trio

from actors import ActorRef, Mailbox, Reply

from ..protocol import ErrorCode, MessageType, encode_envelope, encode_error, text_frame
from ..storage import NewMessage, Store
from ._messages import Delivery
from ._session import Session

log = logging.getLogger("momentum.persistence")

#: Messages and acks taken from the mailbox for one transaction.
BATCH = 500
PERSIST_MAILBOX = 10_000


@dataclass(frozen=True, slots=True)
class Persist:
    """cast (hub): store a direct message; then ack its sender (a session) or reply (HTTP)."""

    message: NewMessage
    ref_id: str  # the id its sender knows it by
    delivered: int
    sender: Session | None = None
    reply: Reply[Delivery] | None = None


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """cast (connection): the recipient received these message ids."""

    recipient_id: uuid.UUID
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Barrier:
    """cast (hub) or call: everything handed over before this is committed (or failed).

    The hub sends one when a user's connection joins, so that the connection's replay of
    stored messages sees every message routed to the user while it was offline; the
    server sends one at shutdown to wait for the last writes.
    """

    done: trio.Event | None = None
    reply: Reply[None] | None = None


PersistenceMsg = Persist | Acknowledge | Barrier


class Backlog:
    """Back-pressure on the persistence actor's mailbox: senders wait while it is behind."""

    __slots__ = ("_high_water", "_lot", "_ref")

    def __init__(self, ref: ActorRef[PersistenceMsg], *, high_water: int) -> None:
        self._ref = ref
        self._high_water = high_water
        self._lot = trio.lowlevel.ParkingLot()

    async def wait_for_room(self) -> None:
        """Return at once unless the mailbox holds `high_water` messages or more."""
        while self._ref.statistics().depth >= self._high_water:
            await self._lot.park()

    def progressed(self) -> None:
        """The actor took a batch: wake as many waiting senders as there is room for (all of
        them at once would overshoot the mailbox and get their messages refused)."""
        room = self._high_water - self._ref.statistics().depth
        if room > 0:
            self._lot.unpark(count=room)


async def serve_persistence(
    mailbox: Mailbox[PersistenceMsg],
    *,
    store: Store,
    backlog: Backlog | None = None,
    on_error: Callable[[], None] = lambda: None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Write batches of messages and acks until cancelled."""
    task_status.started()
    while True:
        batch = await mailbox.receive_batch(BATCH)
        if backlog is not None:
            backlog.progressed()
        await _save(store, [m for m in batch if isinstance(m, Persist)], on_error)
        await _acknowledge(store, [m for m in batch if isinstance(m, Acknowledge)], on_error)
        for barrier in (m for m in batch if isinstance(m, Barrier)):
            if barrier.done is not None:
                barrier.done.set()
            if barrier.reply is not None:
                barrier.reply.send(None)


async def _save(store: Store, persists: list[Persist], on_error: Callable[[], None]) -> None:
    if not persists:
        return
    refused: frozenset[NewMessage] = frozenset()
    failure: ErrorCode | None = None
    try:
        refused = await store.save_messages([p.message for p in persists])
    except Exception as exc:  # StorageError, or a bug: the senders hear of it either way
        on_error()
        log.warning("could not store %d message(s): %r", len(persists), exc)
        failure = ErrorCode.STORAGE_UNAVAILABLE
    for persist in persists:
        error = failure
        if error is None and refused and persist.message in refused:
            error = ErrorCode.DUPLICATE_ID
        if persist.reply is not None:
            duplicate = error is ErrorCode.DUPLICATE_ID
            persist.reply.send(Delivery(persist.delivered, error is None, duplicate))
        if persist.sender is not None:
            message = persist.message
            notify_sender(persist.sender, message.id, persist.ref_id, persist.delivered, error)


_NOT_STORED_BECAUSE = {
    ErrorCode.STORAGE_BUSY: "the store is busy",
    ErrorCode.STORAGE_UNAVAILABLE: "the store failed",
    ErrorCode.DUPLICATE_ID: "its id is already taken by another of your messages",
}


def notify_sender(
    sender: Session,
    message_id: str,
    ref_id: str,
    delivered: int,
    error: ErrorCode | None = None,
) -> None:
    """The sender's `ack` (stored unless `error`), after an `error` envelope if not stored."""
    if error is not None:
        why = _NOT_STORED_BECAUSE[error]
        frame = encode_error(
            error, f"the message was not stored: {why}", ref_id=ref_id, to_user_id=sender.user_id
        )
        sender.send_or_close(text_frame(frame))
    ack = encode_envelope(
        MessageType.ACK,
        {
            "ref_id": ref_id,
            "message_id": message_id,
            "delivered": delivered,
            "stored": error is None,
        },
        to_user_id=sender.user_id,
    )
    sender.send_or_close(text_frame(ack))


async def _acknowledge(store: Store, acks: list[Acknowledge], on_error: Callable[[], None]) -> None:
    by_recipient: dict[uuid.UUID, list[str]] = defaultdict(list)
    for ack in acks:
        by_recipient[ack.recipient_id].extend(ack.ids)
    for recipient_id, ids in by_recipient.items():
        try:
            await store.ack_messages(recipient_id, ids)
        except Exception as exc:  # the messages stay pending and come again: at-least-once
            on_error()
            log.warning("could not record %d ack(s): %r", len(ids), exc)
