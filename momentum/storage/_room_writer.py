"""The room writer actor: room messages appended in batches, each with its room's offset.

Connections hand it every room message a client publishes (`AppendRoom`, through
`RoomWriting.append`). It takes everything already waiting in its mailbox as one batch —
many rooms, many publishers — and appends it in one transaction, each message still getting
its room's next gap-free offset (`Store.append_room_messages`). Only after the commit does
it answer each message, in the batch's order, by awaiting its `on_written` (the
connection's: it hands the stored message to the hub, then acks the publisher). Awaiting the
answers keeps the batch's order on the way to the hub; a hub that is behind slows the
writer, and the writer's backpressure the publishers.

Overflow policy: the mailbox is bounded (`ROOM_WRITER_MAILBOX`). A connection waits before
handing a message over while it is more than half full (`Backpressure`): a publisher faster
than the store is slowed down, not refused; if it is full all the same, `append` says so and
the client is answered `storage_busy`.

Crashes: a failure of the store (`StorageError`) answers the batch's messages `FAILED` and
the writer goes on. Anything else is a bug: every message not yet answered is answered
`FAILED` (nobody is told `stored` for what was not committed), barriers are released, and
the writer crashes; its supervisor restarts it on the same mailbox and store.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

import trio

from actors import ActorError, ActorRef, Mailbox

from ._errors import StorageError
from ._outage import Outage
from ._protocol import Store
from ._room_types import NewRoomMessage, RoomAppend, RoomRefusal
from ._writer import Backpressure, Barrier

log = logging.getLogger("momentum.storage.room_writer")

#: Room messages taken from the mailbox for one transaction.
ROOM_BATCH = 500
ROOM_WRITER_MAILBOX = 10_000


@dataclass(frozen=True, slots=True)
class AppendRoom:
    """cast (connection): append a room message; then `await on_written(result)`, once."""

    message: NewRoomMessage
    on_written: Callable[[RoomAppend], Awaitable[object]]


RoomWriterMsg = AppendRoom | Barrier


@dataclass(frozen=True, slots=True)
class RoomWriting:
    """What a connection needs to hand the room writer a message: its mailbox and the
    backpressure on it."""

    ref: ActorRef[RoomWriterMsg]
    backpressure: Backpressure

    async def append(
        self, message: NewRoomMessage, on_written: Callable[[RoomAppend], Awaitable[object]]
    ) -> bool:
        """Hand `message` over, once the writer is not behind; False if its mailbox is full
        all the same (then `on_written` is never called)."""
        await self.backpressure.wait_for_room()
        try:
            self.ref.cast_nowait(AppendRoom(message, on_written))
        except ActorError:
            return False
        return True


async def serve_room_writer(
    mailbox: Mailbox[RoomWriterMsg],
    *,
    store: Store,
    backpressure: Backpressure | None = None,
    on_error: Callable[[], None] = lambda: None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Append batches of room messages until cancelled."""
    outage = Outage(log, on_error)
    task_status.started()
    while True:
        batch = _Batch(await mailbox.receive_batch(ROOM_BATCH))
        if backpressure is not None:
            backpressure.progressed()
        try:
            await batch.answer(await _append(store, batch.appends, outage))
        except Exception:
            await batch.abandon()
            raise
        batch.release_barriers()


async def _append(store: Store, appends: list[AppendRoom], outage: Outage) -> list[RoomAppend]:
    if not appends:
        return []
    try:
        results = await store.append_room_messages([a.message for a in appends])
    except StorageError as exc:
        outage.failed(f"could not store {len(appends)} room message(s)", exc)
        return [RoomRefusal.FAILED] * len(appends)
    outage.answered()
    return results


class _Batch:
    """One batch from the mailbox, and how many of its appends have been answered."""

    __slots__ = ("answered", "appends", "barriers")

    def __init__(self, messages: Sequence[RoomWriterMsg]) -> None:
        self.appends = [m for m in messages if isinstance(m, AppendRoom)]
        self.barriers = [m for m in messages if isinstance(m, Barrier)]
        self.answered = 0

    async def answer(self, results: Sequence[RoomAppend]) -> None:
        for append, result in zip(self.appends[self.answered :], results, strict=True):
            self.answered += 1
            try:
                await append.on_written(result)
            except Exception:  # one publisher's bug costs the others nothing
                log.exception("answering a room message failed")

    async def abandon(self) -> None:
        """The writer is crashing: what is unanswered was not stored; let waiters go."""
        with trio.CancelScope(shield=True), trio.move_on_after(_ABANDON_WAIT):
            await self.answer([RoomRefusal.FAILED] * (len(self.appends) - self.answered))
        self.release_barriers()

    def release_barriers(self) -> None:
        for barrier in self.barriers:
            barrier.release()
        self.barriers = []


#: How long a crashing writer spends telling publishers their messages were not stored.
_ABANDON_WAIT = 1.0
