"""`/rooms/*`: rooms, their members and their messages, for admins and the API key.

A message published here is stored with its offset, then handed to the hub, which delivers
it to the room's subscribers on every node.

Reading a room's messages is open as well to the users who may enter the room (any user
for a public room, its members for a private one).
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime

import orjson
import trio
from quart import Blueprint, Response

from actors import ActorError

from ..hub import RoomPublish, RoomRevoke
from ..protocol import API_TYPES, ErrorCode, MessageType, new_message_id
from ..rooms import max_payload, may_enter, room_envelope
from ..storage import (
    MAX_ROOM_PAGE,
    NewRoom,
    NewRoomMessage,
    Room,
    RoomFull,
    StorageError,
)
from ._auth import Principal, authenticate, require_admin
from ._common import field, int_arg, json_body, services, store_unavailable
from ._errors import ApiError, json_response
from ._room_access import revoke, revoke_non_members, room_online
from ._rooms_json import (
    MAX_OFFSET,
    changed_room,
    kind_field,
    limit_field,
    member_json,
    message_json,
    name_field,
    path_uuid,
    room_json,
    uuid_arg,
)

blueprint = Blueprint("rooms", __name__)

DEFAULT_PAGE = 50


@blueprint.post("/rooms")
async def create_room() -> Response:
    """`{name, kind, owner_id?, max_members?, max_message_bytes?}` → 201 the room."""
    s = services()
    caller = await require_admin(s)
    body = await json_body()
    name = name_field(body.get("name"))
    kind = kind_field(body.get("kind", "public"))
    owner_field = field(body, "owner_id", str, required=caller.user is None)
    if owner_field is None and caller.user is not None:
        owner_id = caller.user.id
    else:
        owner_id = path_uuid(str(owner_field), "owner_id")
    new = NewRoom(
        name,
        kind,
        owner_id,
        limit_field(body, "max_members"),
        limit_field(body, "max_message_bytes"),
    )
    try:
        if await s.store.get_user(owner_id) is None:
            raise ApiError(404, ErrorCode.NOT_FOUND, "no such user (owner_id)")
        room = await s.store.create_room(new)
    except StorageError:
        raise store_unavailable() from None
    return json_response({"room": room_json(room)}, 201)


@blueprint.get("/rooms/<room_id>")
async def get_room(room_id: str) -> Response:
    s = services()
    await require_admin(s)
    return json_response({"room": room_json(await _room(room_id))})


@blueprint.patch("/rooms/<room_id>")
async def update_room(room_id: str) -> Response:
    """Change `name`, `kind`, `max_members`, `max_message_bytes` (null removes a limit).
    A room turned private unsubscribes the users in it that are not members."""
    s = services()
    await require_admin(s)
    room = await _room(room_id)
    changed = changed_room(room, await json_body())
    try:
        updated = await s.store.update_room(changed)
    except StorageError:
        raise store_unavailable() from None
    if updated is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such room")
    if room.kind == "public" and updated.kind == "private":
        await revoke_non_members(s, updated)
    return json_response({"room": room_json(updated)})


@blueprint.delete("/rooms/<room_id>")
async def delete_room(room_id: str) -> Response:
    s = services()
    await require_admin(s)
    rid = path_uuid(room_id, "room id")
    try:
        deleted = await s.store.delete_room(rid)
    except StorageError:
        raise store_unavailable() from None
    if not deleted:
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such room")
    await revoke(s, RoomRevoke(rid, "deleted"))
    return json_response({"deleted": True})


@blueprint.put("/rooms/<room_id>/members/<user_id>")
async def put_member(room_id: str, user_id: str) -> Response:
    """Add a member, or change a member's role: `{role: "member" | "admin"}`."""
    s = services()
    await require_admin(s)
    rid, uid = path_uuid(room_id, "room id"), path_uuid(user_id, "user id")
    role = field(await json_body(), "role", str, required=False) or "member"
    if role not in ("member", "admin"):
        raise ApiError(400, ErrorCode.BAD_REQUEST, "role is member or admin")
    try:
        if await s.store.get_user(uid) is None:
            raise ApiError(404, ErrorCode.NOT_FOUND, "no such user")
        member = await s.store.add_room_member(rid, uid, "admin" if role == "admin" else "member")
    except RoomFull as exc:
        raise ApiError(409, ErrorCode.ROOM_FULL, str(exc)) from None
    except ValueError as exc:  # the owner's role does not change
        raise ApiError(409, ErrorCode.CONFLICT, str(exc)) from None
    except StorageError:
        raise store_unavailable() from None
    if member is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such room")
    return json_response({"member": member_json(member)})


@blueprint.delete("/rooms/<room_id>/members/<user_id>")
async def remove_member(room_id: str, user_id: str) -> Response:
    """Remove a member; its subscriptions to a private room end at once."""
    s = services()
    await require_admin(s)
    room = await _room(room_id)
    rid, uid = room.id, path_uuid(user_id, "user id")
    try:
        removed = await s.store.remove_room_member(rid, uid)
    except ValueError as exc:  # the owner stays
        raise ApiError(409, ErrorCode.CONFLICT, str(exc)) from None
    except StorageError:
        raise store_unavailable() from None
    if not removed:
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such member in this room")
    if room.kind == "private":
        await revoke(s, RoomRevoke(rid, "removed", uid))
    return json_response({"removed": True})


@blueprint.get("/rooms/<room_id>/online")
async def online(room_id: str) -> Response:
    """Who is subscribed to the room now, on any node: `?limit=100` users listed (by user
    id), `count` all of them."""
    s = services()
    await require_admin(s)
    room = await _room(room_id)
    limit = int_arg("limit", 100, 1, MAX_ROOM_PAGE)
    user_ids = sorted(await room_online(s, room.id))
    try:
        users = await s.store.get_users(user_ids[:limit])
    except StorageError:
        raise store_unavailable() from None
    listed = [
        {"user_id": str(user_id), "username": users[user_id].username}
        for user_id in user_ids[:limit]
        if user_id in users
    ]
    return json_response({"room_id": str(room.id), "users": listed, "count": len(user_ids)})


@blueprint.get("/rooms/<room_id>/members")
async def list_members(room_id: str) -> Response:
    """`?after=<user id>&limit=100`, ordered by user id; page with `next`."""
    s = services()
    await require_admin(s)
    room = await _room(room_id)
    limit = int_arg("limit", 100, 1, MAX_ROOM_PAGE)
    try:
        page = await s.store.list_room_members(room.id, after=uuid_arg("after"), limit=limit)
    except StorageError:
        raise store_unavailable() from None
    more = {"after": str(page[-1].user_id)} if len(page) == limit else None
    return json_response({"members": [member_json(m) for m in page], "next": more})


@blueprint.post("/rooms/<room_id>/messages")
async def publish(room_id: str) -> Response:
    """`{message_type?, data}` from the backend (`from_user_id` null) → 201 the message."""
    s = services()
    caller = await require_admin(s)
    room = await _room(room_id)
    body = await json_body()
    kind = field(body, "message_type", str, required=False) or "text"
    if kind not in {t.value for t in API_TYPES}:
        allowed = ", ".join(sorted(t.value for t in API_TYPES))
        raise ApiError(400, ErrorCode.BAD_REQUEST, f"message_type is one of {allowed}")
    data = field(body, "data", dict, required=False) or {}
    payload = orjson.dumps(data)
    limit = max_payload(room, s.settings.max_message_size)
    if len(payload) > limit:
        raise ApiError(413, ErrorCode.PAYLOAD_TOO_LARGE, f"data is larger than {limit} bytes")
    sender = None if caller.user is None else caller.user.id
    new = NewRoomMessage(
        new_message_id(), room.id, sender, MessageType(kind).value, payload, datetime.now(UTC)
    )
    try:
        stored = await s.store.append_room_message(new)
    except StorageError:
        raise store_unavailable() from None
    if stored is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such room")
    envelope = room_envelope(stored)
    live = RoomPublish(
        room.id, stored.offset, stored.id, stored.message_type, envelope, trio.current_time()
    )
    # Stored already: if the hub cannot take it now, subscribers find it in the store when
    # they next recover (a later message opens a gap, or they subscribe again).
    with contextlib.suppress(ActorError):
        await s.hub.cast(live)
    return json_response({"message": orjson.Fragment(envelope)}, 201)


@blueprint.get("/rooms/<room_id>/messages")
async def history(room_id: str) -> Response:
    """`?before=<offset>&limit=50`, newest first; page with `next`."""
    s = services()
    caller = await authenticate(s)
    room = await _room(room_id)
    await _check_reader(caller, room)
    limit = int_arg("limit", DEFAULT_PAGE, 1, MAX_ROOM_PAGE)
    before = int_arg("before", MAX_OFFSET, 1, MAX_OFFSET)
    try:
        page = await s.store.room_history(room.id, before_offset=before, limit=limit)
    except StorageError:
        raise store_unavailable() from None
    more = {"before": page[-1].offset} if len(page) == limit and page[-1].offset > 1 else None
    return json_response({"messages": [message_json(m) for m in page], "next": more})


async def _room(room_id: str) -> Room:
    rid = path_uuid(room_id, "room id")
    try:
        room = await services().store.get_room(rid)
    except StorageError:
        raise store_unavailable() from None
    if room is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such room")
    return room


async def _check_reader(caller: Principal, room: Room) -> None:
    if caller.is_admin or caller.user is None:
        return
    user_id: uuid.UUID = caller.user.id
    try:
        member = await services().store.get_room_member(room.id, user_id)
    except StorageError:
        raise store_unavailable() from None
    if not may_enter(room, member):
        raise ApiError(403, ErrorCode.FORBIDDEN, "this room is private: members only")
