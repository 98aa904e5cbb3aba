"""Who may stay in a room: room grants, revocations while subscribed, the publish rate,
retention of room messages.

Rules: a real server on port 0 with a real SQLite file, real trio-websocket clients and a
real HTTP client (httpx); the real clock; an outer `trio.fail_after` in every test. Grants
are signed with pyjwt (`sign_room_grant`) as a backend would; a purge is the janitor's own,
run with a wall clock moved past the retention.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trio

from momentum.auth import sign_room_grant
from momentum.janitor import Retention, _purge

from ._live import (
    SECRET,
    Client,
    LiveServer,
    answered,
    custom_server,
    mint_token,
    received_until,
)
from .test_rooms_ws import (
    KEY,
    TIMEOUT,
    expect_error,
    http_publish,
    new_room,
    room_frames_until_roundtrip,
    room_messages,
    subscribe,
)


def grant(user_id: uuid.UUID, *room_ids: str, lifetime: float = 600, key: str = SECRET) -> str:
    expires = int(time.time() + lifetime)
    return sign_room_grant(key, user_id, [uuid.UUID(r) for r in room_ids], expires)


async def subscribe_with(client: Client, room_id: str, token: object) -> None:
    await client.send(message_type="room_subscribe", data={"room_id": room_id, "grant": token})


async def unsubscribed(client: Client) -> dict[str, Any]:
    notice = await client.receive_type("room_unsubscribed")
    data: dict[str, Any] = notice["data"]
    return data


async def test_a_grant_opens_the_private_rooms_it_names_to_its_user(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with custom_server(tmp_path) as server:
            owner, guest, other = [await server.create_user() for _ in range(3)]
            room = await new_room(server, owner, kind="private")
            elsewhere = await new_room(server, owner, kind="private")
            async with server.connect(guest) as client:
                refusals = [
                    (grant(guest.id, room, lifetime=-120), "the room grant has expired"),
                    (grant(other.id, room), "the room grant is for another user"),
                    (grant(guest.id, elsewhere), "the room grant does not name this room"),
                    (grant(guest.id, room, key="x" * 40), "Signature verification failed"),
                    (server.token(guest), "not a room grant"),
                    (mint_token(guest.id, typ="room_grant"), "rooms is a list"),
                ]
                for token, why in refusals:
                    await subscribe_with(client, room, token)
                    error = await expect_error(client, "forbidden", room_id=room)
                    assert why in error["data"]["message"], error
                await subscribe_with(client, room, 42)
                await expect_error(client, "invalid_envelope")
                await client.roundtrip()  # every refusal left the connection usable
                await subscribe_with(client, room, grant(guest.id, room, elsewhere))
                ack = await client.receive_type("ack")
                assert ack["data"]["rooms"][0]["room_id"] == room
                async with server.http() as http:
                    await http_publish(http, room, 1)
                [message] = await room_messages(client, 1)
                assert message["offset"] == 1


async def test_a_grant_is_never_an_access_token(server: LiveServer) -> None:
    with trio.fail_after(TIMEOUT):
        user = await server.create_user()
        room = await new_room(server, user, kind="private")
        async with server.http() as http:
            token = grant(user.id, room)
            reply = await http.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 401, reply.text


async def test_removed_members_are_unsubscribed_at_once_granted_ones_stay(
    server: LiveServer,
) -> None:
    with trio.fail_after(TIMEOUT):
        owner, member, guest = [await server.create_user() for _ in range(3)]
        room = await new_room(server, owner, kind="private")
        async with server.http() as http:
            reply = await http.put(f"/rooms/{room}/members/{member.id}", headers=KEY, json={})
            assert reply.status_code == 200, reply.text
            async with server.connect(member) as m, server.connect(guest) as g:
                await subscribe(m, room)
                await subscribe_with(g, room, grant(guest.id, room))
                await g.receive_type("ack")
                # The guest becomes a member, then is removed: its grant let it in, not
                # the membership, so it stays until the grant's exp.
                reply = await http.put(f"/rooms/{room}/members/{guest.id}", headers=KEY, json={})
                assert reply.status_code == 200, reply.text
                for user in (member, guest):
                    reply = await http.delete(f"/rooms/{room}/members/{user.id}", headers=KEY)
                    assert reply.status_code == 200, reply.text
                assert await unsubscribed(m) == {"room_id": room, "reason": "removed"}
                await http_publish(http, room, 1)
                assert [x["offset"] for x in await room_messages(g, 1)] == [1]
                assert await room_frames_until_roundtrip(m) == []
                await m.send(message_type="room_subscribe", data={"room_id": room})
                await expect_error(m, "forbidden", room_id=room)
                body = {"room_id": room, "data": {}}
                await m.send(message_type="room_publish", data=body)
                await expect_error(m, "forbidden")
                await m.roundtrip()


async def test_deleting_a_room_unsubscribes_everyone_in_it(server: LiveServer) -> None:
    with trio.fail_after(TIMEOUT):
        owner, guest = await server.create_user(), await server.create_user()
        room = await new_room(server, owner, kind="private")
        async with server.connect(owner) as o, server.connect(guest) as g:
            await subscribe(o, room)
            await subscribe_with(g, room, grant(guest.id, room))
            await g.receive_type("ack")
            async with server.http() as http:
                reply = await http.delete(f"/rooms/{room}", headers=KEY)
                assert reply.status_code == 200, reply.text
            for client in (o, g):
                assert await unsubscribed(client) == {"room_id": room, "reason": "deleted"}
                await client.send(message_type="room_subscribe", data={"room_id": room})
                await expect_error(client, "not_found", room_id=room)


async def test_a_room_turned_private_keeps_only_its_members(server: LiveServer) -> None:
    with trio.fail_after(TIMEOUT):
        owner, stranger = await server.create_user(), await server.create_user()
        room = await new_room(server, owner)
        async with server.connect(owner) as o, server.connect(stranger) as s:
            await subscribe(o, room)
            await subscribe(s, room)
            async with server.http() as http:
                reply = await http.patch(f"/rooms/{room}", headers=KEY, json={"kind": "private"})
                assert reply.status_code == 200, reply.text
                assert await unsubscribed(s) == {"room_id": room, "reason": "private"}
                await http_publish(http, room, 1)
            assert [x["offset"] for x in await room_messages(o, 1)] == [1]
            assert await room_frames_until_roundtrip(s) == []


async def test_a_granted_subscription_ends_when_its_grant_expires(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with custom_server(tmp_path, jwt_leeway=0) as server:
            owner, guest = await server.create_user(), await server.create_user()
            room = await new_room(server, owner, kind="private")
            async with server.connect(guest) as client:
                await subscribe_with(client, room, grant(guest.id, room, lifetime=2))
                await client.receive_type("ack")
                assert await unsubscribed(client) == {"room_id": room, "reason": "grant_expired"}
                async with server.http() as http:
                    await http_publish(http, room, 1)
                assert await room_frames_until_roundtrip(client) == []


async def test_room_publish_draws_from_the_users_rate(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with custom_server(tmp_path, user_rate_limit=0.01, user_rate_burst=2) as server:
            user = await server.create_user()
            room = await new_room(server, user)
            async with server.connect(user) as client:
                await subscribe(client, room)
                ids = [str(uuid.uuid4()) for _ in range(3)]
                for n, message_id in enumerate(ids):
                    body = {"room_id": room, "data": {"n": n}}
                    await client.send(id=message_id, message_type="room_publish", data=body)
                seen = await received_until(client, answered(ids, room_messages=2))
                [error] = [m["data"] for m in seen if m["message_type"] == "error"]
                assert (error["code"], error["ref_id"]) == ("rate_limited", ids[2])
                assert "too fast" in error["message"]
                offsets = [m["offset"] for m in seen if "room_id" in m]
                assert offsets == [1, 2]  # the refused one was not stored
            assert (await server.store.get_room(uuid.UUID(room))).last_offset == 2  # type: ignore[union-attr]


async def test_room_publish_has_a_rate_per_connection_and_room(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        settings = {"room_publish_rate": 0.01, "room_publish_burst": 2}
        async with custom_server(tmp_path, **settings) as server:
            user = await server.create_user()
            first, second = await new_room(server, user), await new_room(server, user)
            async with server.connect(user) as client:
                await client.send(message_type="room_subscribe", data={"room_ids": [first, second]})
                await client.receive_type("ack")
                ids = [str(uuid.uuid4()) for _ in range(4)]
                for message_id, room in zip(ids, (first, first, first, second), strict=True):
                    body = {"room_id": room, "data": {}}
                    await client.send(id=message_id, message_type="room_publish", data=body)
                seen = await received_until(client, answered(ids, room_messages=3))
                [error] = [m["data"] for m in seen if m["message_type"] == "error"]
                assert (error["code"], error["ref_id"]) == ("rate_limited", ids[2])
                assert "to this room" in error["message"]
                stored = [(m["room_id"], m["offset"]) for m in seen if "room_id" in m]
                assert stored == [(first, 1), (first, 2), (second, 1)]


async def test_recovery_past_a_retention_purge_answers_recovered_false(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with custom_server(tmp_path) as server, server.http() as http:
            user = await server.create_user()
            room = await new_room(server, user)
            for n in range(1, 4):
                await http_publish(http, room, n)
            later = datetime.now(UTC) + timedelta(days=31)
            await _purge(Retention(server.store, 30 * 86400.0, wall_clock=lambda: later))
            assert await server.store.room_messages(uuid.UUID(room)) == []
            await http_publish(http, room, 4)  # offsets go on from where they were
            async with server.connect(user) as client:
                entry = await subscribe(client, room, offset=1)
                assert entry == {"room_id": room, "offset": 4, "recovered": False}
                assert await room_frames_until_roundtrip(client) == []  # no partial list
