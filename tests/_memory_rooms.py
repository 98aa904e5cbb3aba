"""Rooms for the in-memory store (`tests/_memory_store.py`), held in dicts; the same
contract as the real stores (tests/storage/test_storage_rooms.py runs it on all three)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import trio

from momentum.storage import (
    MAX_ROOM_PAGE,
    ROOM_KINDS,
    MessageIdTaken,
    NewRoom,
    NewRoomMessage,
    Room,
    RoomAppend,
    RoomFull,
    RoomMember,
    RoomMessage,
    RoomRefusal,
    RoomRole,
    check_room_name,
)


def _check(room: NewRoom | Room) -> None:
    check_room_name(room.name)
    if room.kind not in ROOM_KINDS:
        raise ValueError(f"bad room kind {room.kind!r}")
    for value in (room.max_members, room.max_message_bytes):
        if value is not None and value < 1:
            raise ValueError("room limits are >= 1 or None")


def _check_page(limit: int) -> None:
    if not 1 <= limit <= MAX_ROOM_PAGE:
        raise ValueError(f"limit out of range: {limit}")


class MemoryRooms:
    """`RoomStore` in dicts: rooms by id, members by room, messages by room in offset order."""

    def __init__(self) -> None:
        self._rooms: dict[uuid.UUID, Room] = {}
        self._members: dict[uuid.UUID, dict[uuid.UUID, RoomMember]] = {}
        self._room_messages: dict[uuid.UUID, list[RoomMessage]] = {}
        self._room_message_ids: dict[str, RoomMessage] = {}

    async def create_room(self, new: NewRoom) -> Room:
        _check(new)
        await trio.lowlevel.checkpoint()
        now = datetime.now(UTC)
        room = Room(
            uuid.uuid4(),
            new.name,
            new.kind,
            new.owner_id,
            new.max_members,
            new.max_message_bytes,
            now,
        )
        self._rooms[room.id] = room
        self._members[room.id] = {new.owner_id: RoomMember(room.id, new.owner_id, "owner", now)}
        self._room_messages[room.id] = []
        return room

    async def get_room(self, room_id: uuid.UUID) -> Room | None:
        await trio.lowlevel.checkpoint()
        return self._rooms.get(room_id)

    async def update_room(self, room: Room) -> Room | None:
        _check(room)
        await trio.lowlevel.checkpoint()
        kept = self._rooms.get(room.id)
        if kept is None:
            return None
        self._rooms[room.id] = kept = replace(
            kept,
            name=room.name,
            kind=room.kind,
            max_members=room.max_members,
            max_message_bytes=room.max_message_bytes,
        )
        return kept

    async def delete_room(self, room_id: uuid.UUID) -> bool:
        await trio.lowlevel.checkpoint()
        self._members.pop(room_id, None)
        for gone in self._room_messages.pop(room_id, []):
            del self._room_message_ids[gone.id]
        return self._rooms.pop(room_id, None) is not None

    async def add_room_member(
        self, room_id: uuid.UUID, user_id: uuid.UUID, role: RoomRole = "member"
    ) -> RoomMember | None:
        if role not in ("admin", "member"):
            raise ValueError("a member's role is admin or member")
        await trio.lowlevel.checkpoint()
        room = self._rooms.get(room_id)
        if room is None:
            return None
        members = self._members[room_id]
        found = members.get(user_id)
        if found is not None:
            if found.role == "owner":
                raise ValueError("the owner's role in a room cannot change")
            members[user_id] = found = replace(found, role=role)
            return found
        if room.max_members is not None and len(members) >= room.max_members:
            raise RoomFull(room.max_members)
        members[user_id] = member = RoomMember(room_id, user_id, role, datetime.now(UTC))
        return member

    async def remove_room_member(self, room_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        await trio.lowlevel.checkpoint()
        members = self._members.get(room_id, {})
        found = members.get(user_id)
        if found is not None and found.role == "owner":
            raise ValueError("the owner of a room cannot be removed from it")
        return members.pop(user_id, None) is not None

    async def get_room_member(self, room_id: uuid.UUID, user_id: uuid.UUID) -> RoomMember | None:
        await trio.lowlevel.checkpoint()
        return self._members.get(room_id, {}).get(user_id)

    async def list_room_members(
        self, room_id: uuid.UUID, *, after: uuid.UUID | None = None, limit: int = 100
    ) -> list[RoomMember]:
        _check_page(limit)
        await trio.lowlevel.checkpoint()
        members = self._members.get(room_id, {})
        after_key = "" if after is None else str(after)
        keys = sorted(str(u) for u in members if str(u) > after_key)
        return [members[uuid.UUID(k)] for k in keys[:limit]]

    async def append_room_messages(self, messages: Sequence[NewRoomMessage]) -> list[RoomAppend]:
        """All or nothing, like one transaction: every id and time is checked first."""
        for message in messages:
            uuid.UUID(message.id)
            if message.created_at.tzinfo is None:
                raise ValueError("naive datetime: storage needs timezone-aware times")
        results: list[RoomAppend] = []
        for message in messages:
            try:
                stored = await self.append_room_message(message)
            except MessageIdTaken:
                results.append(RoomRefusal.ID_TAKEN)
            else:
                results.append(RoomRefusal.NO_ROOM if stored is None else stored)
        return results

    async def append_room_message(self, message: NewRoomMessage) -> RoomMessage | None:
        key = str(uuid.UUID(message.id))
        if message.created_at.tzinfo is None:
            raise ValueError("naive datetime: storage needs timezone-aware times")
        await trio.lowlevel.checkpoint()
        kept = self._room_message_ids.get(key)
        if kept is not None:
            if (kept.room_id, kept.sender_id) != (message.room_id, message.sender_id):
                raise MessageIdTaken(f"message id {key} is taken")
            return kept
        room = self._rooms.get(message.room_id)
        if room is None:
            return None
        offset = room.last_offset + 1
        stored = RoomMessage(
            key,
            room.id,
            offset,
            message.sender_id,
            message.message_type,
            message.payload,
            message.created_at.astimezone(UTC),
        )
        self._rooms[room.id] = replace(room, last_offset=offset)
        self._room_messages[room.id].append(stored)
        self._room_message_ids[key] = stored
        return stored

    async def room_messages(
        self, room_id: uuid.UUID, *, after_offset: int = 0, limit: int = 100
    ) -> list[RoomMessage]:
        _check_page(limit)
        await trio.lowlevel.checkpoint()
        found = [m for m in self._room_messages.get(room_id, []) if m.offset > after_offset]
        return found[:limit]

    async def room_history(
        self, room_id: uuid.UUID, *, before_offset: int | None = None, limit: int = 50
    ) -> list[RoomMessage]:
        _check_page(limit)
        await trio.lowlevel.checkpoint()
        kept = self._room_messages.get(room_id, [])
        found = [m for m in kept if before_offset is None or m.offset < before_offset]
        return found[::-1][:limit]

    async def purge_room_messages(self, *, created_before: datetime, limit: int) -> int:
        await trio.lowlevel.checkpoint()
        old = sorted(
            (
                m
                for kept in self._room_messages.values()
                for m in kept
                if m.created_at < created_before
            ),
            key=lambda m: m.created_at,
        )[:limit]
        for message in old:
            self._room_messages[message.room_id].remove(message)
        return len(old)
