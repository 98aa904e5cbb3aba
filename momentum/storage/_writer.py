"""The store writer actor: durable direct messages and client acks, written in batches.

The hub hands it every direct message after the live delivery (`Persist`, a non-blocking
cast: the hub never waits for the database); connections hand it what their clients
acknowledged (`Acknowledge`). It takes everything already waiting in its mailbox as one
batch — one transaction for all the messages and acks of a burst, one commit — and only
after the commit calls each message's `on_written` with the result. It never writes to a
socket: `on_written` is the sender's (its connection's `ack`, or the HTTP request's reply).

Overflow policy: the mailbox is bounded (`WRITER_MAILBOX`). Connections wait before
publishing a direct message while it is more than half full (`Backpressure`): a client that
sends faster than the store writes is slowed down, not refused. The hub itself never waits:
if the mailbox is full all the same, it refuses to take the message as durable.

Crashes: a failure of the store (`StorageError`) fails the batch's messages (`FAILED`) and
the writer goes on. Anything else is a bug: every message of the batch not yet answered is
answered `FAILED` (nobody is told `stored` for what was not committed, nobody waits
forever), barriers are released, and the writer crashes; its supervisor restarts it on the
same mailbox and store.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import trio

from actors import ActorRef, Mailbox, Reply

from ._admission import RecipientLimits, SaveRefusal
from ._errors import StorageError
from ._outage import Outage
from ._protocol import Store
from ._types import NewMessage

log = logging.getLogger("momentum.storage.writer")

#: Messages and acks taken from the mailbox for one transaction.
BATCH = 500
WRITER_MAILBOX = 10_000


class WriteResult(enum.Enum):
    """What became of one `Persist`."""

    STORED = "stored"  # committed
    FAILED = "failed"  # the store failed (or the writer crashed): not stored
    REFUSED = "refused"  # the store holds another message under this id: not stored
    UNKNOWN_RECIPIENT = "unknown_recipient"  # no user has the recipient's id: not stored
    RECIPIENT_QUOTA = "recipient_quota"  # the recipient's pending quota is full: not stored


_RESULT = {
    SaveRefusal.DUPLICATE_ID: WriteResult.REFUSED,
    SaveRefusal.UNKNOWN_RECIPIENT: WriteResult.UNKNOWN_RECIPIENT,
    SaveRefusal.RECIPIENT_QUOTA: WriteResult.RECIPIENT_QUOTA,
}


@dataclass(frozen=True, slots=True)
class Persist:
    """cast (hub): store a direct message; then `on_written(result)`, exactly once."""

    message: NewMessage
    on_written: Callable[[WriteResult], object]


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

    def release(self) -> None:
        """Everything before it is written (or failed): let its waiters go."""
        if self.done is not None:
            self.done.set()
        if self.reply is not None:
            self.reply.send(None)


WriterMsg = Persist | Acknowledge | Barrier


class Backpressure:
    """Senders wait while the writer's mailbox is behind (`high_water` messages or more)."""

    __slots__ = ("_high_water", "_lot", "_ref")

    def __init__(self, ref: ActorRef[Any], *, high_water: int) -> None:
        self._ref = ref
        self._high_water = high_water
        self._lot = trio.lowlevel.ParkingLot()

    async def wait_for_room(self) -> None:
        """Return at once unless the mailbox holds `high_water` messages or more."""
        while self._ref.statistics().depth >= self._high_water:
            await self._lot.park()

    def progressed(self) -> None:
        """The writer took a batch: wake as many waiting senders as there is room for (all
        of them at once would overshoot the mailbox and get their messages refused)."""
        room = self._high_water - self._ref.statistics().depth
        if room > 0:
            self._lot.unpark(count=room)


async def serve_writer(
    mailbox: Mailbox[WriterMsg],
    *,
    store: Store,
    limits: RecipientLimits | None = None,
    backpressure: Backpressure | None = None,
    on_error: Callable[[], None] = lambda: None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Write batches of messages and acks until cancelled; with `limits`, the store refuses
    messages to unknown recipients and beyond a recipient's pending quota."""
    outage = Outage(log, on_error)
    task_status.started()
    while True:
        batch = _Batch(await mailbox.receive_batch(BATCH))
        if backpressure is not None:
            backpressure.progressed()
        try:
            await _write(store, batch, outage, limits)
        except Exception:
            batch.abandon()
            raise
        batch.release_barriers()


class _Batch:
    """One batch from the mailbox, and which of its messages have been answered."""

    __slots__ = ("acks", "answered", "barriers", "persists")

    def __init__(self, messages: Sequence[WriterMsg]) -> None:
        self.persists = [m for m in messages if isinstance(m, Persist)]
        self.acks = [m for m in messages if isinstance(m, Acknowledge)]
        self.barriers = [m for m in messages if isinstance(m, Barrier)]
        self.answered = 0

    def answer(self, results: Sequence[WriteResult]) -> None:
        for persist, result in zip(self.persists[self.answered :], results, strict=True):
            self.answered += 1
            try:
                persist.on_written(result)
            except Exception:  # one sender's bug costs the others nothing
                log.exception("answering a stored message failed")

    def abandon(self) -> None:
        """The writer is crashing: what is unanswered was not stored; let waiters go."""
        self.answer([WriteResult.FAILED] * (len(self.persists) - self.answered))
        self.release_barriers()

    def release_barriers(self) -> None:
        for barrier in self.barriers:
            barrier.release()
        self.barriers = []


async def _write(
    store: Store, batch: _Batch, outage: Outage, limits: RecipientLimits | None
) -> None:
    """The batch's messages and acks in one transaction: one commit (one fsync) per batch.
    Each sender hears `stored` only after that commit."""
    messages = [p.message for p in batch.persists]
    acks: dict[uuid.UUID, list[str]] = defaultdict(list)
    for ack in batch.acks:
        acks[ack.recipient_id].extend(ack.ids)
    if not messages and not acks:
        return
    try:
        refused = await store.save_and_ack(messages, acks, limits=limits)
    except StorageError as exc:  # unacked messages stay pending and come again
        count = sum(len(ids) for ids in acks.values())
        outage.failed(f"could not store {len(messages)} message(s) and {count} ack(s)", exc)
        batch.answer([WriteResult.FAILED] * len(messages))
        return
    outage.answered()
    batch.answer([_RESULT[refused[m]] if m in refused else WriteResult.STORED for m in messages])
