"""Persistent users and direct messages behind a small `Store` interface.

SQLite (the embedded default) or PostgreSQL; both pass the same contract tests.
"""

from ._errors import StorageError, UserExists
from ._open import open_store
from ._protocol import Store
from ._types import MAX_CONVERSATION_LIMIT, NewMessage, NewUser, StoredMessage, User

__all__ = [
    "MAX_CONVERSATION_LIMIT",
    "NewMessage",
    "NewUser",
    "StorageError",
    "Store",
    "StoredMessage",
    "User",
    "UserExists",
    "open_store",
]
