"""Persistent users behind a small `Store` interface: SQLite (default) or PostgreSQL."""

from ._errors import StorageError, UserExists
from ._open import open_store
from ._protocol import Store
from ._types import NewUser, User

__all__ = ["NewUser", "StorageError", "Store", "User", "UserExists", "open_store"]
