"""Persistent users and direct messages behind a small `Store` interface, and the two
actors that use it on the server's behalf: the writer (batched message and ack writes) and
the lookup (batched user lookups for handshakes).

SQLite (the embedded default) or PostgreSQL; both pass the same contract tests.
"""

from ._errors import StorageError, UserExists
from ._lookup import LOOKUP_MAILBOX, Lookup, LookupMsg, serve_lookup
from ._open import open_store
from ._protocol import Store
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
    "WRITER_MAILBOX",
    "Acknowledge",
    "Backpressure",
    "Barrier",
    "Lookup",
    "LookupMsg",
    "NewMessage",
    "NewUser",
    "Persist",
    "RefreshToken",
    "Revoked",
    "SpentRefresh",
    "StorageError",
    "Store",
    "StoredMessage",
    "User",
    "UserExists",
    "WriteResult",
    "WriterMsg",
    "open_store",
    "serve_lookup",
    "serve_writer",
]
