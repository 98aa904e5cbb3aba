"""Rooms on SQLite, mixed into `SqliteStore`: the SQL and the row conversions.

Every write runs in one `BEGIN IMMEDIATE` transaction, so SQLite's single writer already
serializes appends: the offset counter and the message row change together.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import RoomFull
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
from ._sqlite_messages import timestamp
from ._sqlite_transaction import transaction
from ._types import check_limit, message_id

T = TypeVar("T")

_ROOM, _MEMBER, _MESSAGE = ROOM_COLUMNS, MEMBER_COLUMNS, ROOM_MESSAGE_COLUMNS

_GET_ROOM = f"SELECT {_ROOM} FROM rooms WHERE id = ?"
_GET_MEMBER = f"SELECT {_MEMBER} FROM room_members WHERE room_id = ? AND user_id = ?"
_BY_ID = f"SELECT {_MESSAGE} FROM room_messages WHERE id = ?"
_BUMP = "UPDATE rooms SET last_offset = last_offset + 1 WHERE id = ? RETURNING last_offset"
_AFTER = (
    f"SELECT {_MESSAGE} FROM room_messages WHERE room_id = ? AND room_offset > ?"
    " ORDER BY room_offset LIMIT ?"
)
_BEFORE = (
    f"SELECT {_MESSAGE} FROM room_messages WHERE room_id = ? AND room_offset < ?"
    " ORDER BY room_offset DESC LIMIT ?"
)
_PURGE = (
    "DELETE FROM room_messages WHERE (room_id, room_offset) IN (SELECT room_id, room_offset"
    " FROM room_messages WHERE created_at < ? ORDER BY created_at LIMIT ?)"
)
_MEMBERS = (
    f"SELECT {_MEMBER} FROM room_members WHERE room_id = ? AND user_id > ? ORDER BY user_id LIMIT ?"
)


class SqliteRooms:
    """`RoomStore` for `SqliteStore`."""

    if TYPE_CHECKING:

        async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...

    async def create_room(self, new: NewRoom) -> Room:
        room = room_from_new(new)
        created = timestamp(room.created_at)
        row = (str(room.id), room.name, room.kind, str(room.owner_id))
        limits = (room.max_members, room.max_message_bytes, created)
        owner = (str(room.id), str(room.owner_id), "owner", created)

        def insert(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                conn.execute(
                    "INSERT INTO rooms (id, name, kind, owner_id, max_members,"
                    " max_message_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    row + limits,
                )
                conn.execute(f"INSERT INTO room_members ({_MEMBER}) VALUES (?, ?, ?, ?)", owner)

        await self._run(insert)
        return room

    async def get_room(self, room_id: uuid.UUID) -> Room | None:
        return await self._run(lambda c: _room(c.execute(_GET_ROOM, (str(room_id),)).fetchone()))

    async def update_room(self, room: Room) -> Room | None:
        check_room(room)
        sql = (
            "UPDATE rooms SET name = ?, kind = ?, max_members = ?, max_message_bytes = ?"
            f" WHERE id = ? RETURNING {_ROOM}"
        )
        args = (room.name, room.kind, room.max_members, room.max_message_bytes, str(room.id))
        return await self._run(lambda c: _room(c.execute(sql, args).fetchone()))

    async def delete_room(self, room_id: uuid.UUID) -> bool:
        sql = "DELETE FROM rooms WHERE id = ?"
        return await self._run(lambda c: c.execute(sql, (str(room_id),)).rowcount == 1)

    async def add_room_member(
        self, room_id: uuid.UUID, user_id: uuid.UUID, role: RoomRole = "member"
    ) -> RoomMember | None:
        member = RoomMember(room_id, user_id, check_role(role), datetime.now(UTC))

        def add(conn: sqlite3.Connection) -> RoomMember | None:
            with transaction(conn):
                return _add_member(conn, member)

        return await self._run(add)

    async def remove_room_member(self, room_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        key = (str(room_id), str(user_id))

        def remove(conn: sqlite3.Connection) -> bool:
            with transaction(conn):
                found = _member(conn.execute(_GET_MEMBER, key).fetchone())
                if found is not None and found.role == "owner":
                    raise ValueError("the owner of a room cannot be removed from it")
                sql = "DELETE FROM room_members WHERE room_id = ? AND user_id = ?"
                return conn.execute(sql, key).rowcount == 1

        return await self._run(remove)

    async def get_room_member(self, room_id: uuid.UUID, user_id: uuid.UUID) -> RoomMember | None:
        key = (str(room_id), str(user_id))
        return await self._run(lambda c: _member(c.execute(_GET_MEMBER, key).fetchone()))

    async def list_room_members(
        self, room_id: uuid.UUID, *, after: uuid.UUID | None = None, limit: int = 100
    ) -> list[RoomMember]:
        check_limit(limit, MAX_ROOM_PAGE)
        args = (str(room_id), "" if after is None else str(after), limit)
        return await self._run(lambda c: [_member_row(r) for r in c.execute(_MEMBERS, args)])

    async def append_room_message(self, message: NewRoomMessage) -> RoomMessage | None:
        [result] = await self.append_room_messages([message])
        return single_append(result, message)

    async def append_room_messages(self, messages: Sequence[NewRoomMessage]) -> list[RoomAppend]:
        rows = [_message_row(message) for message in messages]

        def append(conn: sqlite3.Connection) -> list[RoomAppend]:
            with transaction(conn):
                return [_append(conn, m, row) for m, row in zip(messages, rows, strict=True)]

        return await self._run(append) if messages else []

    async def room_messages(
        self, room_id: uuid.UUID, *, after_offset: int = 0, limit: int = 100
    ) -> list[RoomMessage]:
        check_limit(limit, MAX_ROOM_PAGE)
        args = (str(room_id), after_offset, limit)
        return await self._run(lambda c: [_message(r) for r in c.execute(_AFTER, args)])

    async def room_history(
        self, room_id: uuid.UUID, *, before_offset: int | None = None, limit: int = 50
    ) -> list[RoomMessage]:
        check_limit(limit, MAX_ROOM_PAGE)
        bound = NO_OFFSET_BOUND if before_offset is None else before_offset
        args = (str(room_id), bound, limit)
        return await self._run(lambda c: [_message(r) for r in c.execute(_BEFORE, args)])

    async def purge_room_messages(self, *, created_before: datetime, limit: int) -> int:
        args = (timestamp(created_before), limit)

        def purge(conn: sqlite3.Connection) -> int:
            with transaction(conn):
                return conn.execute(_PURGE, args).rowcount

        return await self._run(purge)


def _message_row(message: NewRoomMessage) -> tuple[str, str, str | None, str, bytes, str]:
    """The columns of a room message but its offset (`ValueError` for a bad id or time)."""
    sender = None if message.sender_id is None else str(message.sender_id)
    created = timestamp(message.created_at)
    room = str(message.room_id)
    return message_id(message.id), room, sender, message.message_type, message.payload, created


def _append(
    conn: sqlite3.Connection,
    message: NewRoomMessage,
    row: tuple[str, str, str | None, str, bytes, str],
) -> RoomAppend:
    """One message of a batch, in the batch's transaction: the room's next offset."""
    key, room, sender, message_type, payload, created = row
    kept = conn.execute(_BY_ID, (key,)).fetchone()
    if kept is not None:  # stored before, or earlier in this batch
        return kept_or_taken(_message(kept), message)
    bumped = conn.execute(_BUMP, (room,)).fetchone()
    if bumped is None:
        return RoomRefusal.NO_ROOM
    offset = bumped[0]
    conn.execute(
        f"INSERT INTO room_messages ({_MESSAGE}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (key, room, offset, sender, message_type, payload, created),
    )
    stamp = datetime.fromisoformat(created)
    return RoomMessage(
        key, message.room_id, offset, message.sender_id, message_type, payload, stamp
    )


def _add_member(conn: sqlite3.Connection, member: RoomMember) -> RoomMember | None:
    room = _room(conn.execute(_GET_ROOM, (str(member.room_id),)).fetchone())
    if room is None:
        return None
    key = (str(member.room_id), str(member.user_id))
    found = _member(conn.execute(_GET_MEMBER, key).fetchone())
    if found is not None:
        if found.role == "owner":
            raise ValueError("the owner's role in a room cannot change")
        sql = "UPDATE room_members SET role = ? WHERE room_id = ? AND user_id = ?"
        conn.execute(sql, (member.role, *key))
        return replace(found, role=member.role)
    if room.max_members is not None:
        sql = "SELECT count(*) FROM room_members WHERE room_id = ?"
        if conn.execute(sql, (key[0],)).fetchone()[0] >= room.max_members:
            raise RoomFull(room.max_members)
    conn.execute(
        f"INSERT INTO room_members ({_MEMBER}) VALUES (?, ?, ?, ?)",
        (*key, member.role, timestamp(member.joined_at)),
    )
    return member


def _room(row: Any) -> Room | None:
    if row is None:
        return None
    room_id, name, kind, owner, max_members, max_bytes, created_at, last_offset = row
    return Room(
        uuid.UUID(room_id),
        name,
        kind,
        uuid.UUID(owner),
        max_members,
        max_bytes,
        datetime.fromisoformat(created_at),
        last_offset,
    )


def _member(row: Any) -> RoomMember | None:
    return None if row is None else _member_row(row)


def _member_row(row: Any) -> RoomMember:
    room_id, user_id, role, joined_at = row
    return RoomMember(
        uuid.UUID(room_id), uuid.UUID(user_id), role, datetime.fromisoformat(joined_at)
    )


def _message(row: Any) -> RoomMessage:
    msg_id, room_id, offset, sender, message_type, payload, created_at = row
    return RoomMessage(
        msg_id,
        uuid.UUID(room_id),
        offset,
        None if sender is None else uuid.UUID(sender),
        message_type,
        payload,
        datetime.fromisoformat(created_at),
    )
