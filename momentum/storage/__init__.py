"""Persistent users, direct messages and rooms behind a small `Store` interface, and the two
actors that use it on the server's behalf: the writer (batched message and ack writes) and
the lookup (batched user lookups for handshakes).

SQLite (the embedded default) or PostgreSQL; both pass the same contract tests.
"""

from ._admission import (
    Pending,
    RecipientLimits,
    SaveRefusal,
    admit,
    forgive_retries,
    quota_refused_ids,
)
from ._errors import MessageIdTaken, RoomFull, StorageError, UserExists
from ._lookup import LOOKUP_MAILBOX, Lookup, LookupMsg, PendingCount, serve_lookup
from ._open import open_store
from ._protocol import Store
from ._room_types import (
    MAX_ROOM_NAME,
    MAX_ROOM_PAGE,
    ROOM_KINDS,
    ROOM_ROLES,
    NewRoom,
    NewRoomMessage,
    Room,
    RoomAppend,
    RoomKind,
    RoomMember,
    RoomMessage,
    RoomRefusal,
    RoomRole,
    check_room_name,
)
from ._room_writer import (
    ROOM_WRITER_MAILBOX,
    AppendRoom,
    RoomWriterMsg,
    RoomWriting,
    serve_room_writer,
)
from ._rooms_protocol import RoomStore
from ._session_types import RefreshToken, Revoked, SpentRefresh
from ._types import MAX_CONVERSATION_LIMIT, NewMessage, NewUser, StoredMessage, User
from ._writer import (
    WRITER_MAILBOX,
    Acknowledge,
    Backpressure,
    Barrier,
    Persist,
    WriteResult,
    WriterMsg,
    serve_writer,
)

__all__ = [
    "LOOKUP_MAILBOX",
    "MAX_CONVERSATION_LIMIT",
    "MAX_ROOM_NAME",
    "MAX_ROOM_PAGE",
    "ROOM_KINDS",
    "ROOM_ROLES",
    "ROOM_WRITER_MAILBOX",
    "WRITER_MAILBOX",
    "Acknowledge",
    "AppendRoom",
    "Backpressure",
    "Barrier",
    "Lookup",
    "LookupMsg",
    "MessageIdTaken",
    "NewMessage",
    "NewRoom",
    "NewRoomMessage",
    "NewUser",
    "Pending",
    "PendingCount",
    "Persist",
    "RecipientLimits",
    "RefreshToken",
    "Revoked",
    "Room",
    "RoomAppend",
    "RoomFull",
    "RoomKind",
    "RoomMember",
    "RoomMessage",
    "RoomRefusal",
    "RoomRole",
    "RoomStore",
    "RoomWriterMsg",
    "RoomWriting",
    "SaveRefusal",
    "SpentRefresh",
    "StorageError",
    "Store",
    "StoredMessage",
    "User",
    "UserExists",
    "WriteResult",
    "WriterMsg",
    "admit",
    "check_room_name",
    "forgive_retries",
    "open_store",
    "quota_refused_ids",
    "serve_lookup",
    "serve_room_writer",
    "serve_writer",
]
