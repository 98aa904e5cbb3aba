"""The storage layer's error vocabulary.

Driver errors (sqlite3, asyncpg, OSError) never leave this package: they are
translated into `StorageError` at the edge. `UserExists` is deliberately *not* a
`StorageError`: it is a conflict the caller caused (HTTP 409), not an outage (503).
"""

from __future__ import annotations

from typing import Literal

UniqueField = Literal["email", "username"]


class StorageError(Exception):
    """The database is unavailable or failed."""


class UserExists(Exception):
    """The email or the username is already taken."""

    def __init__(self, field: UniqueField) -> None:
        super().__init__(f"a user with this {field} already exists")
        self.field: UniqueField = field


class RoomFull(Exception):
    """The room has as many members as its `max_members` allows."""

    def __init__(self, max_members: int) -> None:
        super().__init__(f"the room is full: at most {max_members} members")
        self.max_members = max_members


class MessageIdTaken(Exception):
    """A room message's id is already another message's (another room or sender)."""
