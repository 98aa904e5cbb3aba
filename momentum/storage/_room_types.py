"""Records of rooms: a room, a member, a room message, and the rules for their fields.

A room is a group conversation with a stable UUID. Its messages are numbered by an
**offset**: 1, 2, 3, … per room, assigned by the store in the transaction that inserts the
message, so offsets are strictly increasing and gap-free, and a reader that has seen offset
n never later finds a message with a smaller offset appear.
"""

from __future__ import annotations

import enum
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from ._errors import MessageIdTaken

RoomKind = Literal["public", "private"]
RoomRole = Literal["owner", "admin", "member"]

ROOM_KINDS: tuple[RoomKind, ...] = get_args(RoomKind)
ROOM_ROLES: tuple[RoomRole, ...] = get_args(RoomRole)

#: The columns a `Room`, a `RoomMember` and a `RoomMessage` are read from, on every backend.
ROOM_COLUMNS = "id, name, kind, owner_id, max_members, max_message_bytes, created_at, last_offset"
MEMBER_COLUMNS = "room_id, user_id, role, joined_at"
ROOM_MESSAGE_COLUMNS = "id, room_id, room_offset, sender_id, message_type, payload, created_at"
#: Above any offset: `room_history`'s bound when none is given.
NO_OFFSET_BOUND = 2**63 - 1

#: The longest room name, in characters.
MAX_ROOM_NAME = 255
#: The most rows one `list_room_members` or room message page returns.
MAX_ROOM_PAGE = 200


@dataclass(frozen=True, slots=True)
class NewRoom:
    """What a caller provides to create a room; the store assigns id and created_at.

    `max_members` and `max_message_bytes` are optional limits (None: no limit of the
    room's own)."""

    name: str
    kind: RoomKind
    owner_id: uuid.UUID
    max_members: int | None = None
    max_message_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Room:
    """A stored room. `last_offset` is the offset of its newest message when it was read
    (0: none yet); `created_at` is UTC."""

    id: uuid.UUID
    name: str
    kind: RoomKind
    owner_id: uuid.UUID
    max_members: int | None
    max_message_bytes: int | None
    created_at: datetime
    last_offset: int = 0


@dataclass(frozen=True, slots=True)
class RoomMember:
    """A user's membership of a room; `joined_at` is UTC."""

    room_id: uuid.UUID
    user_id: uuid.UUID
    role: RoomRole
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class NewRoomMessage:
    """A message to append to a room. `id` is the envelope's UUID string; `sender_id` None
    means the system (a backend); `payload` is the JSON of the envelope's `data`."""

    id: str
    room_id: uuid.UUID
    sender_id: uuid.UUID | None
    message_type: str
    payload: bytes
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RoomMessage:
    """A room message as stored, with the offset the store gave it."""

    id: str
    room_id: uuid.UUID
    offset: int
    sender_id: uuid.UUID | None
    message_type: str
    payload: bytes
    created_at: datetime


def room_from_new(new: NewRoom) -> Room:
    """The room a valid `NewRoom` becomes: a fresh id, created now (`ValueError` if invalid)."""
    check_room(new)
    return Room(
        uuid.uuid4(),
        new.name,
        new.kind,
        new.owner_id,
        new.max_members,
        new.max_message_bytes,
        datetime.now(UTC),
    )


class RoomRefusal(enum.Enum):
    """Why a room message got no offset: the store's answers for one message of a batch
    (`append_room_messages`), and the room writer's when the store failed."""

    NO_ROOM = "no_room"  # there is no such room (any more)
    ID_TAKEN = "id_taken"  # the id is stored for another room or sender
    FAILED = "failed"  # the store failed (or the room writer crashed): not stored


#: What `append_room_messages` answers for each message of a batch.
RoomAppend = RoomMessage | RoomRefusal


def kept_or_taken(kept: RoomMessage, again: NewRoomMessage) -> RoomAppend:
    """The answer for a message of a batch whose id is stored already: the stored message
    if it is the same room and sender (a retry), else `ID_TAKEN`."""
    if (kept.room_id, kept.sender_id) != (again.room_id, again.sender_id):
        return RoomRefusal.ID_TAKEN
    return kept


def single_append(result: RoomAppend, message: NewRoomMessage) -> RoomMessage | None:
    """`append_room_message`'s answer from a batch of one."""
    if isinstance(result, RoomMessage):
        return result
    if result is RoomRefusal.ID_TAKEN:
        raise MessageIdTaken(f"message id {message.id} is taken")
    return None  # NO_ROOM (a store never answers FAILED: it raises StorageError)


def check_room_name(name: str) -> str:
    """`name` if it is a valid room name, else `ValueError`: 1 to `MAX_ROOM_NAME`
    characters, not only spaces, no control characters (tabs and newlines included)."""
    if not isinstance(name, str):
        raise ValueError("a room name is a string")
    if not name.strip():
        raise ValueError("a room name must not be empty")
    if len(name) > MAX_ROOM_NAME:
        raise ValueError(f"a room name has at most {MAX_ROOM_NAME} characters")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise ValueError("a room name must not contain control characters")
    return name


def check_room(room: NewRoom | Room) -> None:
    """`ValueError` unless the room's fields are valid (the name, kind and limits)."""
    check_room_name(room.name)
    if room.kind not in ROOM_KINDS:
        raise ValueError(f"a room kind is one of {', '.join(ROOM_KINDS)}")
    for field, value in (
        ("max_members", room.max_members),
        ("max_message_bytes", room.max_message_bytes),
    ):
        if value is not None and (isinstance(value, bool) or value < 1):
            raise ValueError(f"{field} must be >= 1 or null")


def check_role(role: str) -> RoomRole:
    """`role` if it is one a member may be given (not `owner`), else `ValueError`."""
    if role not in ("admin", "member"):
        raise ValueError("a member's role is admin or member (a room has one owner)")
    return "admin" if role == "admin" else "member"
