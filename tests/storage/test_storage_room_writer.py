"""The room writer: a batch of room messages is one store call, answered after it, in order.

Rules: a real mailbox and the real room writer loop over the in-memory store, on Trio's
clock (`autojump_clock`); every test under fail_after. Failures are injected by replacing
the store's `append_room_messages`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial

import pytest
import trio
import trio.lowlevel

from actors import ActorRef, open_mailbox
from momentum.storage import (
    AppendRoom,
    Backpressure,
    Barrier,
    NewRoom,
    NewRoomMessage,
    RoomAppend,
    RoomMessage,
    RoomRefusal,
    RoomWriterMsg,
    RoomWriting,
    StorageError,
    Store,
    serve_room_writer,
)
from tests._memory_store import open_memory_store


def message(room_id: uuid.UUID, n: int) -> NewRoomMessage:
    payload = f'{{"n":{n}}}'.encode()
    return NewRoomMessage(str(uuid.uuid4()), room_id, None, "text", payload, datetime.now(UTC))


class Answers:
    """Each message's answer, in the order the writer gave them; `calls` the store's."""

    def __init__(self) -> None:
        self.got: list[tuple[int, RoomAppend]] = []
        self.calls: list[int] = []

    def on_written(self, n: int) -> Callable[[RoomAppend], Awaitable[None]]:
        async def answer(result: RoomAppend) -> None:
            await trio.lowlevel.checkpoint()  # answers are awaited: a hub cast may wait
            self.got.append((n, result))

        return answer


@asynccontextmanager
async def writer_on(store: Store) -> AsyncIterator[ActorRef[RoomWriterMsg]]:
    ref, inbox = open_mailbox[RoomWriterMsg]("room-writer", 100)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(serve_room_writer, inbox, store=store))
        yield ref
        nursery.cancel_scope.cancel()


async def barrier(ref: ActorRef[RoomWriterMsg]) -> None:
    done = trio.Event()
    ref.cast_nowait(Barrier(done=done))
    await done.wait()


def counted(store: Store, answers: Answers) -> None:
    real = store.append_room_messages

    async def counting(messages: Sequence[NewRoomMessage]) -> list[RoomAppend]:
        answers.calls.append(len(messages))
        assert answers.got == [] or len(answers.got) == sum(answers.calls[:-1])
        return await real(messages)

    store.append_room_messages = counting  # type: ignore[method-assign]


async def test_a_batch_of_many_rooms_is_one_store_call_answered_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    answers = Answers()
    with trio.fail_after(5):
        async with open_memory_store() as store:
            rooms = [await store.create_room(NewRoom(n, "public", uuid.uuid4())) for n in "ab"]
            counted(store, answers)
            async with writer_on(store) as ref:
                for n in range(10):  # queued before the writer runs: one batch
                    ref.cast_nowait(AppendRoom(message(rooms[n % 2].id, n), answers.on_written(n)))
                gone = message(uuid.uuid4(), 10)
                ref.cast_nowait(AppendRoom(gone, answers.on_written(10)))
                await barrier(ref)
    assert answers.calls == [11]
    assert [n for n, _ in answers.got] == list(range(11))
    stored = [r for _, r in answers.got if isinstance(r, RoomMessage)]
    assert [(r.room_id, r.offset) for r in stored[:4]] == [
        (rooms[0].id, 1),
        (rooms[1].id, 1),
        (rooms[0].id, 2),
        (rooms[1].id, 2),
    ]
    assert answers.got[10][1] is RoomRefusal.NO_ROOM


async def test_a_store_failure_answers_failed_and_the_writer_goes_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    answers = Answers()
    errors: list[None] = []
    with trio.fail_after(5):
        async with open_memory_store() as store:
            room = await store.create_room(NewRoom("r", "public", uuid.uuid4()))
            real = store.append_room_messages

            async def failing_once(messages: Sequence[NewRoomMessage]) -> list[RoomAppend]:
                store.append_room_messages = real  # type: ignore[method-assign]
                raise StorageError("disk on fire")

            store.append_room_messages = failing_once  # type: ignore[method-assign]
            ref, inbox = open_mailbox[RoomWriterMsg]("room-writer", 100)
            on_error = partial(errors.append, None)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(
                    partial(serve_room_writer, inbox, store=store, on_error=on_error)
                )
                ref.cast_nowait(AppendRoom(message(room.id, 0), answers.on_written(0)))
                await barrier(ref)
                ref.cast_nowait(AppendRoom(message(room.id, 1), answers.on_written(1)))
                await barrier(ref)
                nursery.cancel_scope.cancel()
    assert answers.got[0] == (0, RoomRefusal.FAILED)
    assert isinstance(answers.got[1][1], RoomMessage) and answers.got[1][1].offset == 1
    assert errors == [None]


async def test_a_crash_answers_what_is_left_failed_and_releases_barriers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    answers = Answers()
    with trio.fail_after(5):
        async with open_memory_store() as store:

            async def buggy(messages: Sequence[NewRoomMessage]) -> list[RoomAppend]:
                raise RuntimeError("a bug")

            store.append_room_messages = buggy  # type: ignore[method-assign]
            ref, inbox = open_mailbox[RoomWriterMsg]("room-writer", 100)
            done = trio.Event()
            for n in range(3):
                ref.cast_nowait(AppendRoom(message(uuid.uuid4(), n), answers.on_written(n)))
            ref.cast_nowait(Barrier(done=done))
            with pytest.raises(RuntimeError):
                await serve_room_writer(inbox, store=store)
            assert done.is_set()
    assert answers.got == [(n, RoomRefusal.FAILED) for n in range(3)]


async def test_append_waits_while_the_writer_is_behind_and_says_when_full(
    autojump_clock: trio.testing.MockClock,
) -> None:
    answers = Answers()
    ref, inbox = open_mailbox[RoomWriterMsg]("room-writer", 4)
    writing = RoomWriting(ref, Backpressure(ref, high_water=2))
    room_id = uuid.uuid4()
    with trio.fail_after(5):
        assert await writing.append(message(room_id, 0), answers.on_written(0))
        assert await writing.append(message(room_id, 1), answers.on_written(1))
        with trio.move_on_after(1) as waited:  # two waiting: the next publisher waits
            await writing.append(message(room_id, 2), answers.on_written(2))
        assert waited.cancelled_caught
        for n in (3, 4):  # a full mailbox (past the backpressure): refused, never answered
            ref.cast_nowait(AppendRoom(message(room_id, n), answers.on_written(n)))
        no_wait = RoomWriting(ref, Backpressure(ref, high_water=100))
        assert not await no_wait.append(message(room_id, 5), answers.on_written(5))
        assert inbox.statistics().depth == 4
    assert answers.got == []
