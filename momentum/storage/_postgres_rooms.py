"""Rooms on PostgreSQL, mixed into `PostgresStore`: the SQL and the row conversions.

An append is one statement: it raises the room's `last_offset` (which takes the room row's
lock until commit) and inserts the message at the new value. Concurrent appends to one room
from any number of processes therefore wait for each other and get consecutive offsets in
commit order; appends to different rooms do not wait. Membership changes lock the room row
too (`FOR UPDATE`), so `max_members` holds under concurrent adds.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from ._errors import RoomFull, StorageError
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
    RoomAppend,
    RoomMember,
    RoomMessage,
    RoomRefusal,
    RoomRole,
    check_role,
    check_room,
    kept_or_taken,
    room_from_new,
    single_append,
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
_BUMP = "UPDATE rooms SET last_offset = last_offset + $2 WHERE id = $1 RETURNING last_offset"
_INSERT_MESSAGE = f"INSERT INTO room_messages ({_MESSAGE}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
_BY_IDS = f"SELECT {_MESSAGE} FROM room_messages WHERE id = ANY($1::uuid[])"
#: Attempts at a batch whose ids another node stores at the same moment (each retry finds
#: more of them stored: two are already rare).
_APPEND_ATTEMPTS = 3
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
        [result] = await self.append_room_messages([message])
        return single_append(result, message)

    async def append_room_messages(self, messages: Sequence[NewRoomMessage]) -> list[RoomAppend]:
        if not messages:
            return []
        rows = [_message_row(message) for message in messages]
        answers = await self._call(_aio_append_batch, rows)
        results: list[RoomAppend] = []
        for message, answer in zip(messages, answers, strict=True):
            if isinstance(answer, tuple):  # its id came earlier in the batch: a retry
                answer = results[answer[1]]
            results.append(_answer(message, answer))
        return results

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


async def _aio_append_batch(pool: Any, rows: list[tuple[Any, ...]]) -> list[Any]:
    """Each row's answer, in one transaction: the stored row of its id (a retry, or an id
    taken), its new offset, or None when there is no such room. Rooms are raised in the
    order of their ids, so two nodes' batches over the same rooms wait for each other
    rather than deadlock. An id another node stores meanwhile breaks the unique index: the
    batch is rolled back and read again, and then finds that id stored."""
    for attempt in range(1, _APPEND_ATTEMPTS + 1):
        try:
            async with pool.acquire() as conn, conn.transaction():
                return await _append_rows(conn, rows)
        except asyncpg.UniqueViolationError as exc:
            if attempt == _APPEND_ATTEMPTS:
                raise StorageError(f"postgresql: message ids kept colliding: {exc}") from exc
    raise AssertionError("unreachable")


async def _append_rows(conn: Any, rows: list[tuple[Any, ...]]) -> list[Any]:
    stored = await conn.fetch(_BY_IDS, list({row[1] for row in rows}))
    answers: list[Any] = [None] * len(rows)
    first: dict[uuid.UUID, int] = {}  # a new id's first row in the batch
    kept = {_uuid(row["id"]): row for row in stored}
    by_room: dict[uuid.UUID, list[int]] = {}
    for index, row in enumerate(rows):
        room_id, message_id = row[0], row[1]
        if message_id in kept:
            answers[index] = kept[message_id]
        elif message_id in first:  # a retry within the batch, or the id taken
            earlier = rows[first[message_id]]
            retry = (earlier[0], earlier[2]) == (room_id, row[2])
            answers[index] = ("again", first[message_id]) if retry else RoomRefusal.ID_TAKEN
        else:
            first[message_id] = index
            by_room.setdefault(room_id, []).append(index)
    inserts = []
    for room_id in sorted(by_room):
        indexes = by_room[room_id]
        last = await conn.fetchval(_BUMP, room_id, len(indexes))
        for position, index in enumerate(indexes):
            offset = None if last is None else last - len(indexes) + 1 + position
            answers[index] = offset
            if offset is not None:
                inserts.append((rows[index][1], room_id, offset, *rows[index][2:]))
    if inserts:
        await conn.executemany(_INSERT_MESSAGE, inserts)
    return answers


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


def _message_row(message: NewRoomMessage) -> tuple[Any, ...]:
    """room id, id, sender, type, payload, time (`ValueError` for a bad id or time)."""
    key = uuid.UUID(message_id(message.id))
    created = utc(message.created_at)
    return message.room_id, key, message.sender_id, message.message_type, message.payload, created


def _answer(message: NewRoomMessage, answer: Any) -> RoomAppend:
    """A batch row's answer from `_aio_append_batch`, as `append_room_messages` gives it."""
    if answer is None:
        return RoomRefusal.NO_ROOM
    if isinstance(answer, int):
        return RoomMessage(
            message_id(message.id),
            message.room_id,
            answer,
            message.sender_id,
            message.message_type,
            message.payload,
            utc(message.created_at),
        )
    if isinstance(answer, RoomRefusal):
        return answer
    if isinstance(answer, RoomMessage):
        return kept_or_taken(answer, message)
    return kept_or_taken(_message(answer), message)


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
