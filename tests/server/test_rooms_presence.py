"""Room presence on a real server: `room_member_joined` / `room_member_left` to the room's
subscribers only, coalesced per presence interval, and `GET /rooms/<id>/online`.

Rules: a real server on port 0 with a real SQLite file (presence interval 0.05 s), real
trio-websocket clients and httpx; the real clock; an outer `trio.fail_after` in every test.
"""

from __future__ import annotations

import uuid
from typing import Any

import trio

from ._live import Client, LiveServer, received_until_roundtrip
from .test_rooms_ws import KEY, TIMEOUT, new_room, subscribe

ROOM_PRESENCE = ("room_member_joined", "room_member_left")


async def presence(client: Client, kind: str) -> dict[str, Any]:
    data: dict[str, Any] = (await client.receive_type(kind))["data"]
    return data


async def until_announced(client: Client, user_id: uuid.UUID) -> None:
    """Wait for a `room_member_joined` listing `user_id` (coalesced with others or not)."""
    while True:
        joined = await presence(client, "room_member_joined")
        if str(user_id) in {u["user_id"] for u in joined["users"]}:
            return


async def online(server: LiveServer, room_id: str, **params: Any) -> dict[str, Any]:
    async with server.http() as http:
        reply = await http.get(f"/rooms/{room_id}/online", headers=KEY, params=params)
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body


async def test_subscribers_hear_who_comes_into_and_leaves_their_room(server: LiveServer) -> None:
    with trio.fail_after(TIMEOUT):
        alice, bob, carol = [await server.create_user() for _ in range(3)]
        room = await new_room(server, alice)
        elsewhere = await new_room(server, alice)
        async with server.connect(alice) as a, server.connect(carol) as c:
            await subscribe(a, room)
            await subscribe(c, elsewhere)
            joined = await presence(a, "room_member_joined")  # alice herself, first
            assert (joined["room_id"], joined["user_id"]) == (room, str(alice.id))
            async with server.connect(bob) as b:
                await subscribe(b, room)
                joined = await presence(a, "room_member_joined")
                assert joined == {
                    "room_id": room,
                    "users": [{"user_id": str(bob.id), "username": bob.username}],
                    "count": 1,
                    "more": 0,
                    "user_id": str(bob.id),
                    "username": bob.username,
                }
                body = await online(server, room)
                assert body["count"] == 2
                assert {u["user_id"] for u in body["users"]} == {str(alice.id), str(bob.id)}
                assert (await online(server, room, limit=1))["users"] == [
                    u for u in body["users"] if u["user_id"] == min(str(alice.id), str(bob.id))
                ]
                await b.send(message_type="room_unsubscribe", data={"room_id": room})
                await b.receive_type("ack")
                left = await presence(a, "room_member_left")
                assert (left["room_id"], left["user_id"]) == (room, str(bob.id))
            seen = await received_until_roundtrip(c)  # another room: none of this room's
            assert all(
                m["data"]["room_id"] == elsewhere
                for m in seen
                if m["message_type"] in ROOM_PRESENCE
            )
            assert [u["user_id"] for u in (await online(server, room))["users"]] == [str(alice.id)]


async def test_a_second_connection_of_a_user_in_the_room_is_not_announced(
    server: LiveServer,
) -> None:
    with trio.fail_after(TIMEOUT):
        alice, bob = await server.create_user(), await server.create_user()
        room = await new_room(server, alice)
        async with server.connect(alice) as a, server.connect(bob) as b1:
            await subscribe(a, room)
            await subscribe(b1, room)
            await until_announced(a, bob.id)
            async with server.connect(bob) as b2:
                await subscribe(b2, room)
                await trio.sleep(0.2)  # several presence intervals
            # b2 left, b1 stays: bob is still in the room
            await trio.sleep(0.2)
            seen = await received_until_roundtrip(a)
            assert [m for m in seen if m["message_type"] in ROOM_PRESENCE] == []
            assert (await online(server, room))["count"] == 2


async def test_online_refuses_bad_input(server: LiveServer) -> None:
    with trio.fail_after(TIMEOUT):
        user = await server.create_user()
        room = await new_room(server, user)
        async with server.http() as http:
            for path, status in (
                (f"/rooms/{uuid.uuid4()}/online", 404),
                ("/rooms/nope/online", 400),
                (f"/rooms/{room}/online?limit=0", 400),
            ):
                reply = await http.get(path, headers=KEY)
                assert reply.status_code == status, (path, reply.text)
            reply = await http.get(f"/rooms/{room}/online")
            assert reply.status_code == 401, reply.text
