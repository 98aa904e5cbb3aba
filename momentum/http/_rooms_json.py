"""Rooms in HTTP bodies: reading the fields of a request, writing rooms, members, messages."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import orjson
from quart import request

from ..protocol import ErrorCode
from ..rooms import room_envelope
from ..storage import (
    ROOM_KINDS,
    Room,
    RoomMember,
    RoomMessage,
    check_room_name,
)
from ._errors import ApiError

#: Offsets are 64-bit signed integers in the store.
MAX_OFFSET = 2**63 - 1
#: The fields of a room a `PATCH` may change.
CHANGEABLE = ("name", "kind", "max_members", "max_message_bytes")


def room_json(room: Room) -> dict[str, Any]:
    return {
        "id": str(room.id),
        "name": room.name,
        "kind": room.kind,
        "owner_id": str(room.owner_id),
        "max_members": room.max_members,
        "max_message_bytes": room.max_message_bytes,
        "last_offset": room.last_offset,
        "created_at": room.created_at.isoformat(),
    }


def member_json(member: RoomMember) -> dict[str, Any]:
    return {
        "user_id": str(member.user_id),
        "role": member.role,
        "joined_at": member.joined_at.isoformat(),
    }


def message_json(message: RoomMessage) -> Any:
    """The envelope a WebSocket subscriber receives for this message."""
    return orjson.Fragment(room_envelope(message))


def path_uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ApiError(400, ErrorCode.INVALID_UUID, f"{what} must be a UUID") from None


def name_field(value: object) -> str:
    if not isinstance(value, str):
        raise ApiError(400, ErrorCode.BAD_REQUEST, "name must be a string")
    try:
        return check_room_name(value)
    except ValueError as exc:
        raise ApiError(400, ErrorCode.BAD_REQUEST, str(exc)) from None


def kind_field(value: object) -> Any:
    if value not in ROOM_KINDS:
        raise ApiError(400, ErrorCode.BAD_REQUEST, f"kind is one of {', '.join(ROOM_KINDS)}")
    return value


def limit_field(body: dict[str, Any], name: str) -> int | None:
    """An optional limit: absent or null for none, else an integer >= 1."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 2**31 - 1:
        raise ApiError(400, ErrorCode.BAD_REQUEST, f"{name} must be an integer >= 1, or null")
    return value


def changed_room(room: Room, body: dict[str, Any]) -> Room:
    """`room` with the fields the body gives; a limit given as null is removed."""
    unknown = set(body) - set(CHANGEABLE)
    if unknown:
        raise ApiError(
            400, ErrorCode.BAD_REQUEST, f"unknown field(s): {', '.join(sorted(unknown))}"
        )
    if "name" in body:
        room = replace(room, name=name_field(body["name"]))
    if "kind" in body:
        room = replace(room, kind=kind_field(body["kind"]))
    if "max_members" in body:
        room = replace(room, max_members=limit_field(body, "max_members"))
    if "max_message_bytes" in body:
        room = replace(room, max_message_bytes=limit_field(body, "max_message_bytes"))
    return room


def uuid_arg(name: str) -> uuid.UUID | None:
    raw = request.args.get(name)
    return None if raw is None else path_uuid(raw, name)
