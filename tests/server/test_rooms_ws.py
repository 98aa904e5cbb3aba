"""Rooms over the WebSocket on a real server: subscribe, publish, refusals, recovery.

Rules: a real server on port 0 with a real SQLite file, real trio-websocket clients and a
real HTTP client (httpx); the real clock; an outer `trio.fail_after` in every test. Rooms and
members are made through the HTTP API with the API key. A lost publish is made by appending
to the store directly (the hub never hears of it), a purge by deleting rows with sqlite3.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import trio

from momentum.storage import NewRoomMessage, User

from ._live import API_KEY, Client, LiveServer, custom_server, received_until_roundtrip

KEY = {"X-API-Key": API_KEY}
TIMEOUT = 20


async def new_room(server: LiveServer, owner: User, **fields: Any) -> str:
    async with server.http() as http:
        body = {"name": "room", "owner_id": str(owner.id), **fields}
        reply = await http.post("/rooms", headers=KEY, json=body)
        assert reply.status_code == 201, reply.text
        room_id: str = reply.json()["room"]["id"]
        return room_id


async def http_publish(http: httpx.AsyncClient, room_id: str, n: int) -> int:
    reply = await http.post(f"/rooms/{room_id}/messages", headers=KEY, json={"data": {"n": n}})
    assert reply.status_code == 201, reply.text
    offset: int = reply.json()["message"]["offset"]
    return offset


async def subscribe(client: Client, room_id: str, offset: int | None = None) -> dict[str, Any]:
    """Subscribe to one room; the room messages recovered, then the ack's entry."""
    ref = str(uuid.uuid4())
    data: dict[str, Any] = {"room_id": room_id}
    if offset is not None:
        data["offset"] = offset
    await client.send(id=ref, message_type="room_subscribe", data=data)
    ack = await client.receive_type("ack", "error")
    assert ack["message_type"] == "ack", ack
    assert ack["data"]["ref_id"] == ref
    entry: dict[str, Any] = ack["data"]["rooms"][0]
    return entry


async def subscribe_without_waiting(client: Client, room_id: str, offset: int) -> None:
    await client.send(message_type="room_subscribe", data={"room_id": room_id, "offset": offset})


async def room_messages(client: Client, count: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while len(got) < count:
        message = await client.receive()
        if "room_id" in message and message["message_type"] != "ack":
            got.append(message)
    return got


async def room_frames_until_roundtrip(client: Client) -> list[dict[str, Any]]:
    """The room messages (not presence) the server sent before the pong to a fresh ping."""
    return [m for m in await received_until_roundtrip(client) if "room_id" in m]


async def expect_error(client: Client, code: str, **data: Any) -> dict[str, Any]:
    error = await client.receive_type("error")
    assert error["data"]["code"] == code, error
    for name, value in data.items():
        assert error["data"][name] == value, error
    return error


async def test_subscribe_then_receive_what_the_backend_publishes(server: LiveServer) -> None:
    with trio.fail_after(TIMEOUT):
        owner = await server.create_user()
        room_id = await new_room(server, owner)
        async with server.connect(await server.create_user()) as client, server.http() as http:
            assert await subscribe(client, room_id) == {
                "room_id": room_id,
                "offset": 0,
                "recovered": True,
            }
            assert await http_publish(http, room_id, 1) == 1
            [message] = await room_messages(client, 1)
            assert message["message_type"] == "text"
            assert (message["room_id"], message["offset"]) == (room_id, 1)
            assert message["data"] == {"n": 1} and message["from_user_id"] is None
            assert message["to_user_id"] is None


async def test_publish_reaches_every_subscriber_once_with_its_offset(server: LiveServer) -> None:
    with trio.fail_after(TIMEOUT):
        alice, bob, carol = [await server.create_user() for _ in range(3)]
        room_id = await new_room(server, alice)
        async with (
            server.connect(alice) as a,
            server.connect(bob) as b,
            server.connect(carol) as c,
        ):
            await subscribe(a, room_id)
            await subscribe(b, room_id)
            refs = [str(uuid.uuid4()) for _ in range(3)]
            for n, ref in enumerate(refs):
                body = {"room_id": room_id, "data": {"n": n}}
                await a.send(id=ref, message_type="room_publish", data=body)
            acks: list[dict[str, Any]] = []
            at_a: list[dict[str, Any]] = []
            while len(acks) < 3 or len(at_a) < 3:  # the acks may come before or after
                message = await a.receive()
                if message["message_type"] == "ack":
                    acks.append(message)
                elif "room_id" in message:  # not presence
                    at_a.append(message)
            assert [ack["data"]["ref_id"] for ack in acks] == refs
            assert [ack["data"]["offset"] for ack in acks] == [1, 2, 3]
            assert all(ack["data"]["stored"] is True for ack in acks)
            assert {ack["data"]["room_id"] for ack in acks} == {room_id}
            for got in (at_a, await room_messages(b, 3)):
                assert [m["offset"] for m in got] == [1, 2, 3]
                assert [m["data"] for m in got] == [{"n": 0}, {"n": 1}, {"n": 2}]
                assert {m["from_user_id"] for m in got} == {str(alice.id)}
            assert await room_frames_until_roundtrip(b) == []
            assert await room_frames_until_roundtrip(c) == []  # not subscribed: nothing


async def test_refusals_leave_the_connection_usable(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with custom_server(tmp_path, room_max_per_connection=2) as server:
            owner, stranger = await server.create_user(), await server.create_user()
            private = await new_room(server, owner, kind="private")
            small = await new_room(server, owner, max_message_bytes=16)
            other = await new_room(server, owner)
            async with server.connect(stranger) as client:
                unknown = str(uuid.uuid4())
                await client.send(message_type="room_subscribe", data={"room_id": unknown})
                await expect_error(client, "not_found", room_id=unknown)
                await client.send(message_type="room_subscribe", data={"room_id": private})
                await expect_error(client, "forbidden", room_id=private)
                await client.send(message_type="room_subscribe", data={"room_id": "nope"})
                await expect_error(client, "invalid_uuid")
                await client.send(message_type="room_subscribe", data={"room_ids": []})
                await expect_error(client, "invalid_envelope")
                bad_offset = {"room_id": small, "offset": -1}
                await client.send(message_type="room_subscribe", data=bad_offset)
                await expect_error(client, "invalid_envelope")
                body = {"room_id": small, "data": {}}
                await client.send(message_type="room_publish", data=body)
                await expect_error(client, "forbidden")

                ref = str(uuid.uuid4())
                both = {"room_ids": [private, small, other]}
                await client.send(id=ref, message_type="room_subscribe", data=both)
                await expect_error(client, "forbidden", room_id=private, ref_id=ref)
                ack = await client.receive_type("ack")
                assert [r["room_id"] for r in ack["data"]["rooms"]] == [small, other]
                third = await new_room(server, owner)
                await client.send(message_type="room_subscribe", data={"room_id": third})
                await expect_error(client, "too_many_rooms", room_id=third)

                big = {"room_id": small, "data": {"text": "x" * 20}}
                await client.send(message_type="room_publish", data=big)
                await expect_error(client, "payload_too_large")
                await client.send(message_type="room_publish", data={"room_id": small, "data": 1})
                await expect_error(client, "invalid_envelope")
                await client.roundtrip()


async def test_a_retried_publish_is_stored_and_delivered_once(server: LiveServer) -> None:
    with trio.fail_after(TIMEOUT):
        user = await server.create_user()
        room_id = await new_room(server, user)
        other = await new_room(server, user)
        async with server.connect(user) as client:
            await subscribe(client, room_id)
            await subscribe(client, other)
            ref = str(uuid.uuid4())
            for room in (room_id, room_id, other):  # a retry after a lost ack, then a misuse
                body = {"room_id": room, "data": {"n": 1}}
                await client.send(id=ref, message_type="room_publish", data=body)
            last = {"room_id": room_id, "data": {"n": 2}}
            await client.send(message_type="room_publish", data=last)
            acks: list[dict[str, Any]] = []
            errors: list[dict[str, Any]] = []
            got: list[dict[str, Any]] = []
            # The hub delivers in the order it was handed the messages: a second copy of
            # offset 1 would come before offset 2.
            while not got or got[-1]["offset"] != 2 or len(acks) < 3:
                message = await client.receive()
                if message["message_type"] == "ack":
                    acks.append(message["data"])
                elif message["message_type"] == "error":
                    errors.append(message["data"])
                elif "room_id" in message:
                    got.append(message)
            assert [a["offset"] for a in acks] == [1, 1, 2]
            assert [(e["code"], e["ref_id"]) for e in errors] == [("duplicate_id", ref)]
            assert [(m["room_id"], m["offset"]) for m in got] == [(room_id, 1), (room_id, 2)]


async def test_a_member_enters_a_private_room_and_removal_is_checked_at_subscribe(
    server: LiveServer,
) -> None:
    with trio.fail_after(TIMEOUT):
        owner, member = await server.create_user(), await server.create_user()
        room_id = await new_room(server, owner, kind="private")
        async with server.http() as http:
            path = f"/rooms/{room_id}/members/{member.id}"
            assert (await http.put(path, headers=KEY, json={})).status_code == 200
            async with server.connect(member) as client:
                assert (await subscribe(client, room_id))["recovered"] is True
                await client.send(message_type="room_unsubscribe", data={"room_id": room_id})
                ack = await client.receive_type("ack")
                assert ack["data"]["rooms"] == [room_id]
                await http_publish(http, room_id, 1)
                assert await room_frames_until_roundtrip(client) == []
                assert (await http.delete(path, headers=KEY)).status_code == 200
                await client.send(message_type="room_subscribe", data={"room_id": room_id})
                await expect_error(client, "forbidden", room_id=room_id)


async def test_resubscribing_with_the_last_offset_recovers_what_was_missed(
    server: LiveServer,
) -> None:
    with trio.fail_after(TIMEOUT):
        user = await server.create_user()
        room_id = await new_room(server, user)
        async with server.http() as http:
            async with server.connect(user) as client:
                await subscribe(client, room_id)
                for n in range(1, 4):
                    await http_publish(http, room_id, n)
                seen = await room_messages(client, 3)
            for n in range(4, 7):
                await http_publish(http, room_id, n)
            async with server.connect(user) as client:
                ref = str(uuid.uuid4())
                data = {"room_ids": [room_id], "offsets": {room_id: seen[-1]["offset"]}}
                await client.send(id=ref, message_type="room_subscribe", data=data)
                missed = await room_messages(client, 3)
                ack = await client.receive_type("ack")
                assert ack["data"]["rooms"] == [
                    {"room_id": room_id, "offset": 6, "recovered": True}
                ]
                assert [m["offset"] for m in missed] == [4, 5, 6]
                assert [m["data"]["n"] for m in missed] == [4, 5, 6]
                await http_publish(http, room_id, 7)
                [live] = await room_messages(client, 1)
                assert live["offset"] == 7
                assert await room_frames_until_roundtrip(client) == []


async def test_nothing_is_lost_or_repeated_while_publishing_during_the_recovery(
    server: LiveServer,
) -> None:
    total = 300
    with trio.fail_after(60):
        user = await server.create_user()
        room_id = await new_room(server, user)
        async with server.http() as http, server.connect(user) as client:
            some_published = trio.Event()
            async with trio.open_nursery() as nursery:

                async def publish_all() -> None:
                    for n in range(total):
                        if await http_publish(http, room_id, n) == 20:
                            some_published.set()

                nursery.start_soon(publish_all)
                await some_published.wait()  # subscribe while the publishing goes on
                await subscribe_without_waiting(client, room_id, offset=0)
            got: list[dict[str, Any]] = []
            acks: list[dict[str, Any]] = []
            while len(got) < total or not acks:
                message = await client.receive()
                if message["message_type"] == "ack":
                    acks.append(message)
                elif "room_id" in message:  # not presence
                    got.append(message)
            assert [m["offset"] for m in got] == list(range(1, total + 1))
            assert acks[0]["data"]["rooms"][0]["recovered"] is True
            assert await room_frames_until_roundtrip(client) == []


async def test_a_gap_older_than_the_store_answers_recovered_false(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with custom_server(tmp_path) as server, server.http() as http:
            user = await server.create_user()
            room_id = await new_room(server, user)
            for n in range(1, 6):
                await http_publish(http, room_id, n)
            database = server.running.services.settings.database_url.removeprefix("sqlite:///")
            conn = sqlite3.connect(database)
            with conn:  # what a retention purge would do: the oldest messages go
                conn.execute("DELETE FROM room_messages WHERE room_offset <= 2")
            conn.close()
            async with server.connect(user) as client:
                assert await subscribe(client, room_id, offset=1) == {
                    "room_id": room_id,
                    "offset": 5,
                    "recovered": False,
                }
                assert await room_frames_until_roundtrip(client) == []  # no partial list
            async with server.connect(user) as client:
                await subscribe_without_waiting(client, room_id, offset=2)
                assert [m["offset"] for m in await room_messages(client, 3)] == [3, 4, 5]
                ack = await client.receive_type("ack")
                assert ack["data"]["rooms"] == [
                    {"room_id": room_id, "offset": 5, "recovered": True}
                ]
                ahead = await subscribe(client, room_id, offset=99)
                assert (ahead["offset"], ahead["recovered"]) == (5, False)


async def test_a_lost_publish_is_read_from_the_store_in_order(server: LiveServer) -> None:
    with trio.fail_after(TIMEOUT):
        user = await server.create_user()
        room_id = await new_room(server, user)
        async with server.http() as http, server.connect(user) as client:
            await subscribe(client, room_id)
            await http_publish(http, room_id, 1)
            lost = NewRoomMessage(
                str(uuid.uuid4()), uuid.UUID(room_id), None, "text", b'{"n":2}', datetime.now(UTC)
            )
            stored = await server.store.append_room_message(lost)  # the hub never hears of it
            assert stored is not None and stored.offset == 2
            await http_publish(http, room_id, 3)
            got = await room_messages(client, 3)
            assert [m["offset"] for m in got] == [1, 2, 3]
            assert [m["data"]["n"] for m in got] == [1, 2, 3]
