"""The rooms HTTP API on a real server: `/rooms/*` of docs/api.md.

Rules: a real server on port 0 with a real SQLite file, a real HTTP client (httpx), the real
clock, an outer `trio.fail_after` in every test. Rooms are managed by admins and the API key;
a room's messages may be read as well by the users who may enter it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio

from ._live import API_KEY, LiveServer, custom_server

KEY = {"X-API-Key": API_KEY}
TIMEOUT = 15


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(reply: httpx.Response, status: int, code: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.json()["error"]["code"] == code, reply.text


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.http() as client:
        yield client


async def make_room(
    server: LiveServer, http: httpx.AsyncClient, **fields: Any
) -> tuple[dict[str, Any], uuid.UUID]:
    owner = await server.create_user()
    body = {"name": "general", "owner_id": str(owner.id), **fields}
    reply = await http.post("/rooms", headers=KEY, json=body)
    assert reply.status_code == 201, reply.text
    room: dict[str, Any] = reply.json()["room"]
    return room, owner.id


async def test_create_read_update_delete(server: LiveServer, http: httpx.AsyncClient) -> None:
    with trio.fail_after(TIMEOUT):
        room, owner = await make_room(server, http, kind="private", max_members=5)
        assert room["name"] == "general" and room["kind"] == "private"
        assert (room["owner_id"], room["max_members"]) == (str(owner), 5)
        assert (room["max_message_bytes"], room["last_offset"]) == (None, 0)
        path = f"/rooms/{room['id']}"
        assert (await http.get(path, headers=KEY)).json() == {"room": room}

        reply = await http.patch(path, headers=KEY, json={"name": "ops", "max_members": None})
        assert reply.status_code == 200, reply.text
        changed = reply.json()["room"]
        assert (changed["name"], changed["kind"], changed["max_members"]) == (
            "ops",
            "private",
            None,
        )

        assert (await http.delete(path, headers=KEY)).json() == {"deleted": True}
        assert_error(await http.get(path, headers=KEY), 404, "not_found")
        assert_error(await http.delete(path, headers=KEY), 404, "not_found")


async def test_an_admin_user_owns_the_rooms_it_creates(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(TIMEOUT):
        admin = await server.create_user(admin=True)
        reply = await http.post("/rooms", headers=bearer(server.token(admin)), json={"name": "a"})
        assert reply.status_code == 201, reply.text
        assert reply.json()["room"]["owner_id"] == str(admin.id)
        assert reply.json()["room"]["kind"] == "public"


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x" * 256},
        {"name": "bell\x07"},
        {"name": 5},
        {"name": "a", "kind": "secret"},
        {"name": "a", "max_members": 0},
        {"name": "a", "max_message_bytes": True},
        {"name": "a", "owner_id": "nope"},
        {"name": "a"},  # the API key must name an owner
    ],
)
async def test_create_refuses_bad_fields(
    server: LiveServer, http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    with trio.fail_after(TIMEOUT):
        reply = await http.post("/rooms", headers=KEY, json=body)
        assert reply.status_code == 400, reply.text


async def test_only_admins_and_the_api_key_manage_rooms(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(TIMEOUT):
        room, owner = await make_room(server, http)
        user = bearer(server.token(await server.create_user()))
        rid = room["id"]
        for method, path in [
            ("POST", "/rooms"),
            ("GET", f"/rooms/{rid}"),
            ("PATCH", f"/rooms/{rid}"),
            ("DELETE", f"/rooms/{rid}"),
            ("PUT", f"/rooms/{rid}/members/{owner}"),
            ("DELETE", f"/rooms/{rid}/members/{owner}"),
            ("GET", f"/rooms/{rid}/members"),
            ("POST", f"/rooms/{rid}/messages"),
        ]:
            reply = await http.request(method, path, headers=user, json={"name": "x"})
            assert_error(reply, 403, "forbidden")
            assert_error(await http.request(method, path, json={}), 401, "token_missing")
        assert_error(
            await http.post("/rooms", json={}, headers={"X-API-Key": "no"}), 401, "token_invalid"
        )
        assert_error(
            await http.post(
                "/rooms", headers=KEY, json={"name": "a", "owner_id": str(uuid.uuid4())}
            ),
            404,
            "not_found",
        )


async def test_members_are_added_listed_changed_and_removed(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(TIMEOUT):
        room, owner = await make_room(server, http, max_members=3)
        base = f"/rooms/{room['id']}/members"
        users = [await server.create_user() for _ in range(3)]
        reply = await http.put(f"{base}/{users[0].id}", headers=KEY, json={})
        assert reply.status_code == 200, reply.text
        assert reply.json()["member"]["role"] == "member"
        reply = await http.put(f"{base}/{users[1].id}", headers=KEY, json={"role": "admin"})
        assert reply.json()["member"]["role"] == "admin"
        assert_error(
            await http.put(f"{base}/{users[2].id}", headers=KEY, json={}), 409, "room_full"
        )
        assert_error(await http.put(f"{base}/{owner}", headers=KEY, json={}), 409, "conflict")
        assert_error(
            await http.put(f"{base}/{uuid.uuid4()}", headers=KEY, json={}), 404, "not_found"
        )
        reply = await http.put(f"{base}/{users[0].id}", headers=KEY, json={"role": "owner"})
        assert_error(reply, 400, "bad_request")

        everyone = sorted([str(owner), str(users[0].id), str(users[1].id)])
        first = (await http.get(f"{base}?limit=2", headers=KEY)).json()
        assert first["next"] == {"after": first["members"][-1]["user_id"]}
        rest = (
            await http.get(f"{base}?limit=2&after={first['next']['after']}", headers=KEY)
        ).json()
        assert [m["user_id"] for m in first["members"] + rest["members"]] == everyone
        assert rest["next"] is None
        roles = {m["user_id"]: m["role"] for m in first["members"] + rest["members"]}
        assert roles[str(owner)] == "owner" and roles[str(users[1].id)] == "admin"

        assert (await http.delete(f"{base}/{users[0].id}", headers=KEY)).json() == {"removed": True}
        assert_error(await http.delete(f"{base}/{users[0].id}", headers=KEY), 404, "not_found")
        assert_error(await http.delete(f"{base}/{owner}", headers=KEY), 409, "conflict")
        missing = f"/rooms/{uuid.uuid4()}/members/{users[2].id}"
        assert_error(await http.put(missing, headers=KEY, json={}), 404, "not_found")


async def test_publish_then_page_through_history(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(TIMEOUT):
        room, _ = await make_room(server, http)
        path = f"/rooms/{room['id']}/messages"
        sent = []
        for n in range(5):
            body = {"message_type": "notification", "data": {"n": n}}
            reply = await http.post(path, headers=KEY, json=body)
            assert reply.status_code == 201, reply.text
            sent.append(reply.json()["message"])
        assert [m["offset"] for m in sent] == [1, 2, 3, 4, 5]
        assert sent[0]["room_id"] == room["id"] and sent[0]["from_user_id"] is None
        assert sent[0]["to_user_id"] is None and sent[0]["data"] == {"n": 0}
        assert sent[0]["timestamp"].endswith("Z")

        first = (await http.get(f"{path}?limit=2", headers=KEY)).json()
        assert first["messages"] == sent[:2:-1] and first["next"] == {"before": 4}
        second = (await http.get(f"{path}?limit=2&before=4", headers=KEY)).json()
        third = (await http.get(f"{path}?limit=2&before=2", headers=KEY)).json()
        assert second["messages"] == sent[2:0:-1] and third["messages"] == sent[:1]
        assert third["next"] is None
        assert (await http.get(f"/rooms/{room['id']}", headers=KEY)).json()["room"][
            "last_offset"
        ] == 5


async def test_publish_refusals(server: LiveServer, http: httpx.AsyncClient) -> None:
    with trio.fail_after(TIMEOUT):
        room, _ = await make_room(server, http, max_message_bytes=20)
        path = f"/rooms/{room['id']}/messages"
        too_big = {"data": {"text": "x" * 20}}
        assert_error(await http.post(path, headers=KEY, json=too_big), 413, "payload_too_large")
        bad_type = {"message_type": "ack", "data": {}}
        assert_error(await http.post(path, headers=KEY, json=bad_type), 400, "bad_request")
        not_object = {"data": [1]}
        assert_error(await http.post(path, headers=KEY, json=not_object), 400, "bad_request")
        missing = f"/rooms/{uuid.uuid4()}/messages"
        assert_error(await http.post(missing, headers=KEY, json={}), 404, "not_found")
        assert_error(
            await http.post("/rooms/x/messages", headers=KEY, json={}), 400, "invalid_uuid"
        )
        assert (await http.get(path, headers=KEY)).json() == {"messages": [], "next": None}


async def test_history_is_open_to_who_may_enter(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(TIMEOUT):
        public, _ = await make_room(server, http)
        private, _ = await make_room(server, http, kind="private")
        member, stranger = await server.create_user(), await server.create_user()
        await http.put(f"/rooms/{private['id']}/members/{member.id}", headers=KEY, json={})
        for room in (public, private):
            await http.post(f"/rooms/{room['id']}/messages", headers=KEY, json={"data": {}})
        as_stranger = bearer(server.token(stranger))
        as_member = bearer(server.token(member))
        reply = await http.get(f"/rooms/{public['id']}/messages", headers=as_stranger)
        assert [m["offset"] for m in reply.json()["messages"]] == [1]
        reply = await http.get(f"/rooms/{private['id']}/messages", headers=as_stranger)
        assert_error(reply, 403, "forbidden")
        reply = await http.get(f"/rooms/{private['id']}/messages", headers=as_member)
        assert [m["offset"] for m in reply.json()["messages"]] == [1]
        reply = await http.get(f"/rooms/{private['id']}/messages?limit=0", headers=as_member)
        assert_error(reply, 400, "bad_request")


async def test_the_frame_limit_bounds_room_messages(tmp_path: object) -> None:
    with trio.fail_after(TIMEOUT):
        async with custom_server(tmp_path, max_message_size=1024) as server, server.http() as http:
            room, _ = await make_room(server, http)
            path = f"/rooms/{room['id']}/messages"
            fits = {"data": {"t": "x" * (1024 - 512 - 10)}}
            assert (await http.post(path, headers=KEY, json=fits)).status_code == 201
            over = {"data": {"t": "x" * (1024 - 512)}}
            assert_error(await http.post(path, headers=KEY, json=over), 413, "payload_too_large")
