"""The room part of the storage contract, run against every backend.

Rules: like test_storage_contract.py, every test runs against each `store_url` param (sqlite
and the memory store always; postgresql when MOMENTUM_TEST_POSTGRES_URL is set) on the real
clock, each body under `trio.fail_after`, through the public `momentum.storage` API only.
The concurrency test opens two stores on one database (two pools on PostgreSQL: two
processes of a cluster) and appends to one room from many tasks of both at once.
"""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import trio

from momentum.storage import (
    MAX_ROOM_NAME,
    MessageIdTaken,
    NewRoom,
    NewRoomMessage,
    RoomFull,
    Store,
)

from .conftest import MEMORY_URL, open_test_store

TIMEOUT = 20


def room_message(room_id: uuid.UUID, n: int, sender: uuid.UUID | None = None) -> NewRoomMessage:
    payload = f'{{"n":{n}}}'.encode()
    return NewRoomMessage(str(uuid.uuid4()), room_id, sender, "text", payload, datetime.now(UTC))


async def test_create_get_update_delete_a_room(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        owner = uuid.uuid4()
        room = await store.create_room(NewRoom("Général ☕", "public", owner, max_members=10))
        assert (room.name, room.kind, room.owner_id) == ("Général ☕", "public", owner)
        assert (room.max_members, room.max_message_bytes, room.last_offset) == (10, None, 0)
        assert room.created_at.tzinfo is not None
        assert await store.get_room(room.id) == room
        assert await store.get_room(uuid.uuid4()) is None

        changed = replace(room, name="ops", kind="private", max_members=None, max_message_bytes=64)
        assert await store.update_room(changed) == changed
        assert await store.get_room(room.id) == changed
        assert await store.update_room(replace(changed, id=uuid.uuid4())) is None

        await store.append_room_message(room_message(room.id, 1))
        assert await store.delete_room(room.id)
        assert await store.get_room(room.id) is None
        assert await store.delete_room(room.id) is False
        assert await store.get_room_member(room.id, owner) is None
        assert await store.room_messages(room.id) == []


@pytest.mark.parametrize(
    "name", ["", "   ", "x" * (MAX_ROOM_NAME + 1), "tab\there", "line\nbreak", "nul\x00", "\x7f"]
)
async def test_invalid_room_names_are_refused(store: Store, name: str) -> None:
    with trio.fail_after(TIMEOUT):
        with pytest.raises(ValueError):
            await store.create_room(NewRoom(name, "public", uuid.uuid4()))
        room = await store.create_room(NewRoom("y" * MAX_ROOM_NAME, "public", uuid.uuid4()))
        with pytest.raises(ValueError):
            await store.update_room(replace(room, name=name))
        assert await store.get_room(room.id) == room


async def test_invalid_kinds_and_limits_are_refused(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        owner = uuid.uuid4()
        for bad in (
            NewRoom("a", "secret", owner),  # type: ignore[arg-type]
            NewRoom("a", "public", owner, max_members=0),
            NewRoom("a", "public", owner, max_message_bytes=-1),
        ):
            with pytest.raises(ValueError):
                await store.create_room(bad)


async def test_the_owner_is_the_first_member_and_keeps_the_role(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        owner = uuid.uuid4()
        room = await store.create_room(NewRoom("team", "private", owner))
        member = await store.get_room_member(room.id, owner)
        assert member is not None
        assert (member.room_id, member.user_id, member.role) == (room.id, owner, "owner")
        with pytest.raises(ValueError):
            await store.add_room_member(room.id, owner, "member")
        with pytest.raises(ValueError):
            await store.remove_room_member(room.id, owner)
        with pytest.raises(ValueError):
            await store.add_room_member(room.id, uuid.uuid4(), "owner")
        assert (await store.get_room_member(room.id, owner)) == member


async def test_members_are_added_changed_listed_and_removed(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        owner = uuid.uuid4()
        room = await store.create_room(NewRoom("team", "private", owner))
        users = [uuid.uuid4() for _ in range(5)]
        for user in users:
            added = await store.add_room_member(room.id, user)
            assert added is not None and added.role == "member"
        admin = await store.add_room_member(room.id, users[0], "admin")
        assert admin is not None and admin.role == "admin"
        assert (await store.get_room_member(room.id, users[0])) == admin

        everyone = sorted([owner, *users], key=str)
        listed = await store.list_room_members(room.id)
        assert [m.user_id for m in listed] == everyone
        first = await store.list_room_members(room.id, limit=4)
        rest = await store.list_room_members(room.id, after=first[-1].user_id, limit=4)
        assert [m.user_id for m in first + rest] == everyone

        assert await store.remove_room_member(room.id, users[1])
        assert await store.remove_room_member(room.id, users[1]) is False
        assert await store.get_room_member(room.id, users[1]) is None
        assert await store.add_room_member(uuid.uuid4(), users[1]) is None
        with pytest.raises(ValueError):
            await store.list_room_members(room.id, limit=0)


async def test_max_members_stops_new_members_not_role_changes(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        owner, member, late = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        room = await store.create_room(NewRoom("small", "public", owner, max_members=2))
        await store.add_room_member(room.id, member)
        with pytest.raises(RoomFull):
            await store.add_room_member(room.id, late)
        changed = await store.add_room_member(room.id, member, "admin")
        assert changed is not None and changed.role == "admin"
        await store.update_room(replace(room, max_members=3))
        assert await store.add_room_member(room.id, late) is not None


async def test_offsets_are_consecutive_per_room(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        sender = uuid.uuid4()
        one = await store.create_room(NewRoom("one", "public", sender))
        two = await store.create_room(NewRoom("two", "public", sender))
        offsets = []
        for n in range(5):
            for room in (one, two):
                stored = await store.append_room_message(room_message(room.id, n, sender))
                assert stored is not None and stored.room_id == room.id
                offsets.append((room.id, stored.offset))
        assert [o for r, o in offsets if r == one.id] == [1, 2, 3, 4, 5]
        assert [o for r, o in offsets if r == two.id] == [1, 2, 3, 4, 5]
        reread = await store.get_room(one.id)
        assert reread is not None and reread.last_offset == 5
        assert await store.append_room_message(room_message(uuid.uuid4(), 0)) is None


async def test_appending_an_id_again_is_a_retry_or_refused(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        sender = uuid.uuid4()
        one = await store.create_room(NewRoom("one", "public", sender))
        two = await store.create_room(NewRoom("two", "public", sender))
        first = room_message(one.id, 1, sender)
        stored = await store.append_room_message(first)
        assert await store.append_room_message(first) == stored  # a retry: the same offset
        with pytest.raises(MessageIdTaken):
            await store.append_room_message(replace(first, sender_id=uuid.uuid4()))
        with pytest.raises(MessageIdTaken):
            await store.append_room_message(replace(first, room_id=two.id))
        after = await store.append_room_message(room_message(one.id, 2, sender))
        assert stored is not None and after is not None
        assert (stored.offset, after.offset) == (1, 2)  # no offset lost to the refusals
        assert [m.offset for m in await store.room_messages(two.id)] == []
        assert await store.delete_room(one.id)
        assert await store.append_room_message(replace(first, room_id=two.id)) is not None


async def test_room_messages_after_and_history_before(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        sender = uuid.uuid4()
        room = await store.create_room(NewRoom("r", "public", sender))
        sent = [room_message(room.id, n, sender if n % 2 else None) for n in range(1, 8)]
        for message in sent:
            await store.append_room_message(message)

        after = await store.room_messages(room.id, after_offset=2, limit=3)
        assert [m.offset for m in after] == [3, 4, 5]
        assert [m.id for m in after] == [m.id for m in sent[2:5]]
        assert after[0].payload == b'{"n":3}' and after[0].sender_id == sender
        assert after[1].sender_id is None and after[1].message_type == "text"
        assert after[0].created_at == sent[2].created_at
        assert await store.room_messages(room.id, after_offset=7) == []

        newest = await store.room_history(room.id, limit=3)
        assert [m.offset for m in newest] == [7, 6, 5]
        older = await store.room_history(room.id, before_offset=newest[-1].offset, limit=10)
        assert [m.offset for m in older] == [4, 3, 2, 1]
        for bad in (0, 201):
            with pytest.raises(ValueError):
                await store.room_history(room.id, limit=bad)


async def test_concurrent_appends_from_two_stores_are_gap_free(store_url: str) -> None:
    writers, per_writer = 8, 25
    with trio.fail_after(60):
        async with AsyncExitStack() as stack:
            first = await stack.enter_async_context(open_test_store(store_url))
            second = (
                first
                if store_url == MEMORY_URL
                else await stack.enter_async_context(open_test_store(store_url))
            )
            room = await first.create_room(NewRoom("busy", "public", uuid.uuid4()))
            seen: dict[int, list[int]] = {}

            async def write(n: int, store: Store) -> None:
                seen[n] = []
                for i in range(per_writer):
                    stored = await store.append_room_message(room_message(room.id, i))
                    assert stored is not None
                    seen[n].append(stored.offset)

            async with trio.open_nursery() as nursery:
                for n in range(writers):
                    nursery.start_soon(write, n, first if n % 2 else second)

            total = writers * per_writer
            offsets = sorted(o for found in seen.values() for o in found)
            assert offsets == list(range(1, total + 1))
            for found in seen.values():
                assert found == sorted(found)
            stored = await second.room_messages(room.id, limit=200)
            stored += await second.room_messages(room.id, after_offset=200, limit=200)
            assert [m.offset for m in stored] == list(range(1, total + 1))


async def test_purge_deletes_the_oldest_room_messages_in_batches(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        room = await store.create_room(NewRoom("r", "public", uuid.uuid4()))
        other = await store.create_room(NewRoom("o", "public", uuid.uuid4()))
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for n in range(1, 6):
            old = replace(room_message(room.id, n), created_at=start + timedelta(minutes=n))
            await store.append_room_message(old)
        await store.append_room_message(replace(room_message(other.id, 1), created_at=start))
        await store.append_room_message(room_message(room.id, 6))  # now: kept
        cut = start + timedelta(minutes=4, seconds=30)
        assert await store.purge_room_messages(created_before=cut, limit=3) == 3
        assert await store.purge_room_messages(created_before=cut, limit=3) == 2
        assert await store.purge_room_messages(created_before=cut, limit=3) == 0
        assert [m.offset for m in await store.room_messages(room.id)] == [5, 6]
        assert await store.room_messages(other.id) == []
        assert (await store.get_room(room.id)).last_offset == 6  # type: ignore[union-attr]
