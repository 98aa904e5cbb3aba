"""Rooms on PostgreSQL, mixed into `PostgresStore`: the SQL and the row conversions.

An append is one statement: it raises the room's `last_offset` (which takes the room row's
lock until commit) and inserts the message at the new value. Concurrent appends to one room
from any number of processes therefore wait for each other and get consecutive offsets in
commit order; appends to different rooms do not wait. Membership changes lock the room row
too (`FOR UPDATE`), so `max_members` holds under concurrent adds.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from ._errors import RoomFull
from ._postgres_accounts import _aio_execute, _aio_fetch, _aio_fetchrow
from ._room_types import (
    MAX_ROOM_PAGE,
    MEMBER_COLUMNS,
    NO_OFFSET_BOUND,
    ROOM_COLUMNS,
    ROOM_MESSAGE_COLUMNS,
    NewRoom,
    NewRoomMessage,
    Room,
    RoomMember,
    RoomMessage,
    RoomRole,
    check_role,
    check_room,
    retried_append,
    room_from_new,
)
from ._types import check_limit, message_id, utc

T = TypeVar("T")

_ROOM, _MEMBER, _MESSAGE = ROOM_COLUMNS, MEMBER_COLUMNS, ROOM_MESSAGE_COLUMNS

_GET_ROOM = f"SELECT {_ROOM} FROM rooms WHERE id = $1"
_GET_MEMBER = f"SELECT {_MEMBER} FROM room_members WHERE room_id = $1 AND user_id = $2"
_INSERT_ROOM = (
    "INSERT INTO rooms (id, name, kind, owner_id, max_members, max_message_bytes, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
_INSERT_MEMBER = f"INSERT INTO room_members ({_MEMBER}) VALUES ($1, $2, $3, $4)"
_UPDATE_ROOM = (
    "UPDATE rooms SET name = $2, kind = $3, max_members = $4, max_message_bytes = $5"
    f" WHERE id = $1 RETURNING {_ROOM}"
)
_APPEND = (
    "WITH bumped AS (UPDATE rooms SET last_offset = last_offset + 1 WHERE id = $1"
    " RETURNING last_offset)"
    f" INSERT INTO room_messages ({_MESSAGE})"
    " SELECT $2, $1, last_offset, $3, $4, $5, $6 FROM bumped"
    f" RETURNING {_MESSAGE}"
)
_BY_ID = f"SELECT {_MESSAGE} FROM room_messages WHERE id = $1"
_AFTER = (
    f"SELECT {_MESSAGE} FROM room_messages WHERE room_id = $1 AND room_offset > $2"
    " ORDER BY room_offset LIMIT $3"
)
_BEFORE = (
    f"SELECT {_MESSAGE} FROM room_messages WHERE room_id = $1 AND room_offset < $2"
    " ORDER BY room_offset DESC LIMIT $3"
)
_PURGE = (
    "DELETE FROM room_messages WHERE (room_id, room_offset) IN (SELECT room_id, room_offset"
    " FROM room_messages WHERE created_at < $1 ORDER BY created_at LIMIT $2)"
)
_MEMBERS = (
    f"SELECT {_MEMBER} FROM room_members WHERE room_id = $1 AND user_id > $2"
    " ORDER BY user_id LIMIT $3"
)
_NIL = uuid.UUID(int=0)


class PostgresRooms:
    """`RoomStore` for `PostgresStore`."""

    if TYPE_CHECKING:

        async def _call(self, fn: Callable[..., Awaitable[T]], *args: object) -> T: ...

    async def create_room(self, new: NewRoom) -> Room:
        room = room_from_new(new)
        await self._call(_aio_create_room, room)
        return room

    async def get_room(self, room_id: uuid.UUID) -> Room | None:
        return _room(await self._call(_aio_fetchrow, _GET_ROOM, room_id))

    async def update_room(self, room: Room) -> Room | None:
        check_room(room)
        args = (room.id, room.name, room.kind, room.max_members, room.max_message_bytes)
        return _room(await self._call(_aio_fetchrow, _UPDATE_ROOM, *args))

    async def delete_room(self, room_id: uuid.UUID) -> bool:
        status = await self._call(_aio_execute, "DELETE FROM rooms WHERE id = $1", room_id)
        return status == "DELETE 1"

    async def add_room_member(
        self, room_id: uuid.UUID, user_id: uuid.UUID, role: RoomRole = "member"
    ) -> RoomMember | None:
        member = RoomMember(room_id, user_id, check_role(role), datetime.now(UTC))
        return await self._call(_aio_add_member, member)

    async def remove_room_member(self, room_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return await self._call(_aio_remove_member, room_id, user_id)

    async def get_room_member(self, room_id: uuid.UUID, user_id: uuid.UUID) -> RoomMember | None:
        return _member(await self._call(_aio_fetchrow, _GET_MEMBER, room_id, user_id))

    async def list_room_members(
        self, room_id: uuid.UUID, *, after: uuid.UUID | None = None, limit: int = 100
    ) -> list[RoomMember]:
        check_limit(limit, MAX_ROOM_PAGE)
        rows = await self._call(_aio_fetch, _MEMBERS, room_id, after or _NIL, limit)
        return [_member_row(row) for row in rows]

    async def append_room_message(self, message: NewRoomMessage) -> RoomMessage | None:
        args = (
            message.room_id,
            message_id(message.id),
            message.sender_id,
            message.message_type,
            message.payload,
            utc(message.created_at),
        )
        kept, row = await self._call(_aio_append, args)
        if kept is not None:
            return retried_append(_message(kept), message)
        return None if row is None else _message(row)

    async def room_messages(
        self, room_id: uuid.UUID, *, after_offset: int = 0, limit: int = 100
    ) -> list[RoomMessage]:
        check_limit(limit, MAX_ROOM_PAGE)
        rows = await self._call(_aio_fetch, _AFTER, room_id, after_offset, limit)
        return [_message(row) for row in rows]

    async def room_history(
        self, room_id: uuid.UUID, *, before_offset: int | None = None, limit: int = 50
    ) -> list[RoomMessage]:
        check_limit(limit, MAX_ROOM_PAGE)
        bound = NO_OFFSET_BOUND if before_offset is None else before_offset
        rows = await self._call(_aio_fetch, _BEFORE, room_id, bound, limit)
        return [_message(row) for row in rows]

    async def purge_room_messages(self, *, created_before: datetime, limit: int) -> int:
        status = await self._call(_aio_execute, _PURGE, created_before, limit)
        return int(status.split()[-1])  # "DELETE <count>"


# --- asyncio side -----------------------------------------------------------


async def _aio_create_room(pool: Any, room: Room) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            _INSERT_ROOM,
            room.id,
            room.name,
            room.kind,
            room.owner_id,
            room.max_members,
            room.max_message_bytes,
            room.created_at,
        )
        await conn.execute(_INSERT_MEMBER, room.id, room.owner_id, "owner", room.created_at)


async def _aio_append(pool: Any, args: tuple[object, ...]) -> tuple[Any, Any]:
    """(the stored message of that id, None) if the id is taken, else (None, the new row or
    None when there is no such room). The id's unique index decides, so two appends of one
    id at once store it once."""
    async with pool.acquire() as conn:
        try:
            return None, await conn.fetchrow(_APPEND, *args)
        except asyncpg.UniqueViolationError:
            return await conn.fetchrow(_BY_ID, args[1]), None


async def _aio_add_member(pool: Any, member: RoomMember) -> RoomMember | None:
    async with pool.acquire() as conn, conn.transaction():
        room = _room(await conn.fetchrow(f"{_GET_ROOM} FOR UPDATE", member.room_id))
        if room is None:
            return None
        found = _member(await conn.fetchrow(_GET_MEMBER, member.room_id, member.user_id))
        if found is not None:
            if found.role == "owner":
                raise ValueError("the owner's role in a room cannot change")
            sql = "UPDATE room_members SET role = $3 WHERE room_id = $1 AND user_id = $2"
            await conn.execute(sql, member.room_id, member.user_id, member.role)
            return replace(found, role=member.role)
        if room.max_members is not None:
            sql = "SELECT count(*) FROM room_members WHERE room_id = $1"
            if await conn.fetchval(sql, member.room_id) >= room.max_members:
                raise RoomFull(room.max_members)
        args = (member.room_id, member.user_id, member.role, member.joined_at)
        await conn.execute(_INSERT_MEMBER, *args)
        return member


async def _aio_remove_member(pool: Any, room_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    async with pool.acquire() as conn, conn.transaction():
        found = _member(await conn.fetchrow(f"{_GET_MEMBER} FOR UPDATE", room_id, user_id))
        if found is None:
            return False
        if found.role == "owner":
            raise ValueError("the owner of a room cannot be removed from it")
        sql = "DELETE FROM room_members WHERE room_id = $1 AND user_id = $2"
        return str(await conn.execute(sql, room_id, user_id)) == "DELETE 1"


# --- rows -------------------------------------------------------------------


def _uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(int=value.int)


def _room(row: Any) -> Room | None:
    if row is None:
        return None
    return Room(
        _uuid(row["id"]),
        row["name"],
        row["kind"],
        _uuid(row["owner_id"]),
        row["max_members"],
        row["max_message_bytes"],
        row["created_at"].astimezone(UTC),
        row["last_offset"],
    )


def _member(row: Any) -> RoomMember | None:
    return None if row is None else _member_row(row)


def _member_row(row: Any) -> RoomMember:
    return RoomMember(
        _uuid(row["room_id"]),
        _uuid(row["user_id"]),
        row["role"],
        row["joined_at"].astimezone(UTC),
    )


def _message(row: Any) -> RoomMessage:
    sender = row["sender_id"]
    return RoomMessage(
        str(row["id"]),
        _uuid(row["room_id"]),
        row["room_offset"],
        None if sender is None else _uuid(sender),
        row["message_type"],
        row["payload"],
        row["created_at"].astimezone(UTC),
    )
