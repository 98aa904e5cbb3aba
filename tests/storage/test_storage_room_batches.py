"""`append_room_messages`: a batch of room messages in one transaction, run on every backend.

Rules: like test_storage_rooms.py (each `store_url` param, the real clock, each body under
`trio.fail_after`, the public `momentum.storage` API only). The concurrency test appends
batches over two rooms from two stores on one database (two pools on PostgreSQL: two nodes
of a cluster), the rooms named in both orders, and wants exactly 1..N in each room.
"""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import trio

from momentum.storage import NewRoom, NewRoomMessage, RoomMessage, RoomRefusal, Store

from .conftest import MEMORY_URL, open_test_store
from .test_storage_rooms import room_message

TIMEOUT = 20


async def test_a_batch_gets_offsets_per_room_in_its_order(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        sender = uuid.uuid4()
        one = await store.create_room(NewRoom("one", "public", sender))
        two = await store.create_room(NewRoom("two", "public", sender))
        await store.append_room_message(room_message(two.id, 0, sender))
        batch = [room_message((one, two)[n % 2].id, n, sender) for n in range(6)]
        results = await store.append_room_messages(batch)
        assert all(isinstance(r, RoomMessage) for r in results)
        offsets = [(r.room_id, r.offset) for r in results if isinstance(r, RoomMessage)]
        assert offsets == [
            (one.id, 1),
            (two.id, 2),
            (one.id, 2),
            (two.id, 3),
            (one.id, 3),
            (two.id, 4),
        ]
        assert [r.id for r in results if isinstance(r, RoomMessage)] == [m.id for m in batch]
        stored = await store.room_messages(one.id)
        assert [(m.offset, m.payload) for m in stored] == [
            (1, b'{"n":0}'),
            (2, b'{"n":2}'),
            (3, b'{"n":4}'),
        ]
        assert await store.append_room_messages([]) == []


async def test_refusals_in_a_batch_cost_the_others_nothing(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        sender = uuid.uuid4()
        room = await store.create_room(NewRoom("r", "public", sender))
        before = await store.append_room_message(room_message(room.id, 0, sender))
        assert before is not None
        first = room_message(room.id, 1, sender)
        batch = [
            first,
            replace(first, payload=b"{}"),  # the same id again in the batch: a retry
            replace(first, sender_id=uuid.uuid4()),  # the same id from another sender
            room_message(uuid.uuid4(), 2, sender),  # no such room
            NewRoomMessage(before.id, room.id, sender, "text", b"{}", datetime.now(UTC)),
            NewRoomMessage(before.id, room.id, None, "text", b"{}", datetime.now(UTC)),
            room_message(room.id, 3, sender),
        ]
        results = await store.append_room_messages(batch)
        assert isinstance(results[0], RoomMessage) and results[0].offset == 2
        assert results[1] == results[0]
        assert results[2:4] == [RoomRefusal.ID_TAKEN, RoomRefusal.NO_ROOM]
        assert results[4] == before
        assert results[5] is RoomRefusal.ID_TAKEN
        assert isinstance(results[6], RoomMessage) and results[6].offset == 3
        stored = await store.room_messages(room.id)
        assert [m.offset for m in stored] == [1, 2, 3]  # no offset lost to the refusals


async def test_a_bad_message_fails_the_batch_before_anything_is_stored(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        room = await store.create_room(NewRoom("r", "public", uuid.uuid4()))
        naive = replace(room_message(room.id, 2), created_at=datetime.now())
        with pytest.raises(ValueError):
            await store.append_room_messages([room_message(room.id, 1), naive])
        assert await store.room_messages(room.id) == []


async def test_concurrent_batches_from_two_stores_are_gap_free(store_url: str) -> None:
    writers, batches, per_batch = 8, 5, 6
    with trio.fail_after(60):
        async with AsyncExitStack() as stack:
            first = await stack.enter_async_context(open_test_store(store_url))
            second = (
                first
                if store_url == MEMORY_URL
                else await stack.enter_async_context(open_test_store(store_url))
            )
            rooms = [(await first.create_room(NewRoom(n, "public", uuid.uuid4()))).id for n in "ab"]
            seen: dict[uuid.UUID, list[int]] = {room: [] for room in rooms}

            async def write(n: int, store: Store) -> None:
                order = rooms if n % 2 else rooms[::-1]  # both lock orders at once
                for _ in range(batches):
                    batch = [room_message(order[i % 2], i) for i in range(per_batch)]
                    for result in await store.append_room_messages(batch):
                        assert isinstance(result, RoomMessage)
                        seen[result.room_id].append(result.offset)

            async with trio.open_nursery() as nursery:
                for n in range(writers):
                    nursery.start_soon(write, n, first if n % 2 else second)

            each = writers * batches * per_batch // 2
            for room in rooms:
                assert sorted(seen[room]) == list(range(1, each + 1))
                stored = await second.room_messages(room, limit=200)
                assert [m.offset for m in stored] == list(range(1, each + 1))
