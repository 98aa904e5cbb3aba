"""Room publishes go through the room writer: batched, answered after the commit.

Rules: a real server on port 0 with a real SQLite file, real trio-websocket clients; the real
clock; an outer `trio.fail_after` in every test. The store's `append_room_messages` is
wrapped on the live store to count transactions or to fail them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import trio

from momentum.storage import NewRoomMessage, RoomAppend, StorageError

from ._live import Client, custom_server
from .test_rooms_ws import expect_error, new_room, room_frames_until_roundtrip, subscribe

TIMEOUT = 30


async def publish_all(client: Client, room_ids: Sequence[str], count: int) -> list[str]:
    """Send `count` room messages round-robin over `room_ids` without waiting; the refs."""
    refs = []
    for n in range(count):
        ref = str(uuid.uuid4())
        body = {"room_id": room_ids[n % len(room_ids)], "data": {"n": n}}
        await client.send(id=ref, message_type="room_publish", data=body)
        refs.append(ref)
    return refs


async def acks_of(client: Client, count: int) -> list[dict[str, Any]]:
    acks: list[dict[str, Any]] = []
    while len(acks) < count:
        message = await client.receive_type("ack", "error")
        assert message["message_type"] == "ack", message
        acks.append(message["data"])
    return acks


async def test_pipelined_publishers_get_gap_free_offsets_in_fewer_transactions(
    tmp_path: Path,
) -> None:
    publishers, per_publisher = 4, 24
    batches: list[int] = []
    with trio.fail_after(TIMEOUT):
        async with custom_server(tmp_path, rate_limit=0) as server:
            real = server.store.append_room_messages

            async def counting(messages: Sequence[NewRoomMessage]) -> list[RoomAppend]:
                batches.append(len(messages))
                return await real(messages)

            server.store.append_room_messages = counting  # type: ignore[method-assign]
            users = [await server.create_user() for _ in range(publishers + 1)]
            rooms = [await new_room(server, users[0]) for _ in range(2)]
            acks: dict[int, list[dict[str, Any]]] = {}
            async with server.connect(users[-1]) as watcher:
                for room in rooms:
                    await subscribe(watcher, room)

                async def publisher(n: int) -> None:
                    async with server.connect(users[n]) as client:
                        for room in rooms:
                            await subscribe(client, room)
                        refs = await publish_all(client, rooms, per_publisher)
                        acks[n] = await acks_of(client, per_publisher)
                        assert [a["ref_id"] for a in acks[n]] == refs  # in the order sent

                async with trio.open_nursery() as nursery:
                    for n in range(publishers):
                        nursery.start_soon(publisher, n)
                got = await room_frames_until_roundtrip(watcher)
    each = publishers * per_publisher // 2
    for room in rooms:
        offsets = [a["offset"] for mine in acks.values() for a in mine if a["room_id"] == room]
        assert sorted(offsets) == list(range(1, each + 1))
        for mine in acks.values():
            seen = [a["offset"] for a in mine if a["room_id"] == room]
            assert seen == sorted(seen)
        assert [m["offset"] for m in got if m["room_id"] == room] == list(range(1, each + 1))
    assert sum(batches) == publishers * per_publisher
    assert len(batches) < publishers * per_publisher  # batched, not one per message


async def test_a_failing_store_answers_storage_unavailable_and_nothing_is_sent(
    tmp_path: Path,
) -> None:
    with trio.fail_after(TIMEOUT):
        async with custom_server(tmp_path) as server:
            real = server.store.append_room_messages

            async def failing(messages: Sequence[NewRoomMessage]) -> list[RoomAppend]:
                raise StorageError("disk on fire")

            user, other = await server.create_user(), await server.create_user()
            room = await new_room(server, user)
            async with server.connect(user) as client, server.connect(other) as watcher:
                await subscribe(client, room)
                await subscribe(watcher, room)
                server.store.append_room_messages = failing  # type: ignore[method-assign]
                [ref] = await publish_all(client, [room], 1)
                await expect_error(client, "storage_unavailable", ref_id=ref)
                assert await room_frames_until_roundtrip(watcher) == []
                server.store.append_room_messages = real  # type: ignore[method-assign]
                await publish_all(client, [room], 1)
                [ack] = await acks_of(client, 1)
                assert ack["offset"] == 1  # the failed one took no offset
                assert [m["offset"] for m in await room_frames_until_roundtrip(watcher)] == [1]


async def test_a_room_deleted_meanwhile_answers_not_found_and_unsubscribes(
    tmp_path: Path,
) -> None:
    with trio.fail_after(TIMEOUT):
        async with custom_server(tmp_path) as server:
            user = await server.create_user()
            room = await new_room(server, user)
            async with server.connect(user) as client:
                await subscribe(client, room)
                # Straight in the store: the HTTP API's delete would unsubscribe the client
                # first (`room_unsubscribed`); this is a delete that lands after the check.
                assert await server.store.delete_room(uuid.UUID(room))
                [ref] = await publish_all(client, [room], 1)
                await expect_error(client, "not_found", ref_id=ref)
                await publish_all(client, [room], 1)  # no longer subscribed: refused at once
                await expect_error(client, "forbidden")
