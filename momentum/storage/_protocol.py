"""The `Store` interface every backend implements."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from ._types import NewUser, User


class Store(Protocol):
    """Persistent users. Every method raises `StorageError` when the database fails."""

    #: "sqlite" or "postgresql".
    backend: str
    #: Migration versions this open applied (empty when the schema was current).
    migrations_applied: tuple[int, ...]

    async def create_user(self, new: NewUser) -> User:
        """Insert one user; raises `UserExists` if the email or username is taken."""
        ...

    async def create_users(self, new: Sequence[NewUser]) -> list[User]:
        """Insert many users in one transaction: all of them, or none (`UserExists`)."""
        ...

    async def get_user(self, user_id: uuid.UUID) -> User | None: ...

    async def find_user(self, login: str) -> User | None:
        """Find by email (case-insensitive) or else by username (case-insensitive)."""
        ...

    async def set_user_flags(
        self,
        user_id: uuid.UUID,
        *,
        is_active: bool | None = None,
        is_admin: bool | None = None,
    ) -> User | None:
        """Change the given flags; returns the updated user, or None if unknown."""
        ...

    async def count_users(self) -> int: ...

    async def schema_version(self) -> int:
        """The highest applied migration version."""
        ...

    async def check(self) -> None:
        """Health probe: a cheap query; raises `StorageError` when the database is down."""
        ...
