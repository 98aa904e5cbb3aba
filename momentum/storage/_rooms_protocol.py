"""The room part of the `Store` interface, which every backend implements."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ._room_types import (
    NewRoom,
    NewRoomMessage,
    Room,
    RoomAppend,
    RoomMember,
    RoomMessage,
    RoomRole,
)


class RoomStore(Protocol):
    """Rooms, their members and their messages.

    Like the rest of `Store`: `StorageError` when the database fails, `ValueError` for a
    caller bug (an invalid name or role, a limit out of range). Deleting a room deletes its
    members and messages with it.
    """

    async def create_room(self, new: NewRoom) -> Room:
        """Insert a room and its owner as its first member (role `owner`), in one
        transaction."""
        ...

    async def get_room(self, room_id: uuid.UUID) -> Room | None: ...

    async def update_room(self, room: Room) -> Room | None:
        """Set the stored room's name, kind and limits to `room`'s (its owner, creation time
        and offset stay); the room as updated, or None if unknown. Lowering `max_members`
        under the current count removes nobody; it stops new members."""
        ...

    async def delete_room(self, room_id: uuid.UUID) -> bool:
        """Delete the room, its members and its messages; False if there was no such room."""
        ...

    async def add_room_member(
        self, room_id: uuid.UUID, user_id: uuid.UUID, role: RoomRole = "member"
    ) -> RoomMember | None:
        """Make the user a member with `role` (admin or member), or change the role of a
        member; the membership, or None if there is no such room. `RoomFull` when the room
        has `max_members` members already and the user is not one of them; `ValueError` for
        the role `owner` or a change of the owner's role."""
        ...

    async def remove_room_member(self, room_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        """Remove a member; False if the user was not one. `ValueError` for the owner."""
        ...

    async def get_room_member(
        self, room_id: uuid.UUID, user_id: uuid.UUID
    ) -> RoomMember | None: ...

    async def list_room_members(
        self, room_id: uuid.UUID, *, after: uuid.UUID | None = None, limit: int = 100
    ) -> list[RoomMember]:
        """Up to `limit` (1..`MAX_ROOM_PAGE`) members ordered by user id; page by passing
        the last user id seen as `after`."""
        ...

    async def append_room_message(self, message: NewRoomMessage) -> RoomMessage | None:
        """Store the message with the room's next offset (the last one + 1), both in one
        transaction; None if there is no such room. Concurrent appends to one room, from
        any number of processes sharing the database, get distinct consecutive offsets, in
        commit order.

        Appending again a message whose id is stored in the same room from the same sender
        (a retry) stores nothing and returns the stored message; an id stored for another
        room or sender raises `MessageIdTaken`."""
        ...

    async def append_room_messages(self, messages: Sequence[NewRoomMessage]) -> list[RoomAppend]:
        """Store a batch of messages (to any rooms, from any senders) in one transaction,
        each with its room's next offset, in the batch's order; the answer for each, in
        order: the stored message, or why it got no offset (`RoomRefusal`). A retry (an id
        stored, or earlier in the batch, for the same room and sender) stores nothing and
        answers the stored message; an id taken answers `ID_TAKEN` and costs the others
        nothing. `StorageError` stores none of them."""
        ...

    async def room_messages(
        self, room_id: uuid.UUID, *, after_offset: int = 0, limit: int = 100
    ) -> list[RoomMessage]:
        """Up to `limit` (1..`MAX_ROOM_PAGE`) messages with `offset > after_offset`, oldest
        first: what a subscriber that saw `after_offset` missed."""
        ...

    async def room_history(
        self, room_id: uuid.UUID, *, before_offset: int | None = None, limit: int = 50
    ) -> list[RoomMessage]:
        """Up to `limit` (1..`MAX_ROOM_PAGE`) messages with `offset < before_offset` (all
        when None), newest first: page by passing the oldest offset seen."""
        ...

    async def purge_room_messages(self, *, created_before: datetime, limit: int) -> int:
        """Delete up to `limit` room messages created before `created_before` (the oldest
        first), in one short transaction; the count deleted. The janitor calls it again
        while it deletes `limit`: a large purge is many small ones, never one long lock.
        A room's offsets are not reused: a subscriber asking for a purged offset is told
        `recovered: false`."""
        ...
