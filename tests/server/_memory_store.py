"""An in-memory `Store` for tests that run on Trio's autojump clock.

SQLite answers from a worker thread, and the autojump clock would jump ahead while a query
is in flight; tests of time use this store instead. The real stores are covered by the
contract tests in tests/storage.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import trio

from momentum.storage import NewUser, User, UserExists


class MemoryStore:
    backend = "memory"
    migrations_applied: tuple[int, ...] = ()

    def __init__(self) -> None:
        self.users: dict[uuid.UUID, User] = {}

    async def create_user(self, new: NewUser) -> User:
        return (await self.create_users([new]))[0]

    async def create_users(self, new: Sequence[NewUser]) -> list[User]:
        await trio.lowlevel.checkpoint()
        taken = {u.email for u in self.users.values()} | {
            u.username.casefold() for u in self.users.values()
        }
        for n in new:
            if n.email.lower() in taken:
                raise UserExists("email")
            if n.username.casefold() in taken:
                raise UserExists("username")
        made = [
            User(
                uuid.uuid4(),
                n.email.lower(),
                n.username,
                n.password_hash,
                n.is_active,
                n.is_admin,
                datetime.now(UTC),
            )
            for n in new
        ]
        self.users.update((u.id, u) for u in made)
        return made

    async def get_user(self, user_id: uuid.UUID) -> User | None:
        await trio.lowlevel.checkpoint()
        return self.users.get(user_id)

    async def find_user(self, login: str) -> User | None:
        await trio.lowlevel.checkpoint()
        key = login.casefold()
        for u in self.users.values():
            if u.email == key or u.username.casefold() == key:
                return u
        return None

    async def set_user_flags(
        self, user_id: uuid.UUID, *, is_active: bool | None = None, is_admin: bool | None = None
    ) -> User | None:
        await trio.lowlevel.checkpoint()
        user = self.users.get(user_id)
        if user is None:
            return None
        from dataclasses import replace

        user = replace(
            user,
            is_active=user.is_active if is_active is None else is_active,
            is_admin=user.is_admin if is_admin is None else is_admin,
        )
        self.users[user_id] = user
        return user

    async def count_users(self) -> int:
        await trio.lowlevel.checkpoint()
        return len(self.users)

    async def schema_version(self) -> int:
        return 0

    async def check(self) -> None:
        await trio.lowlevel.checkpoint()
