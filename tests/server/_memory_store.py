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

from momentum.storage import NewMessage, NewUser, StoredMessage, User, UserExists


class MemoryMessages:
    """Stored messages for `MemoryStore`, with the contract's semantics (no persistence)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[StoredMessage, datetime, datetime | None]] = {}
        self._seq = 0

    async def save_messages(self, messages: Sequence[NewMessage]) -> frozenset[NewMessage]:
        await trio.lowlevel.checkpoint()
        refused: set[NewMessage] = set()
        for m in messages:
            if m.id in self.rows:
                kept = self.rows[m.id][0]
                if (kept.sender_id, kept.recipient_id) != (m.sender_id, m.recipient_id):
                    refused.add(m)
                continue
            self._seq += 1
            stored = StoredMessage(
                m.id,
                self._seq,
                m.sender_id,
                m.recipient_id,
                m.message_type,
                m.envelope,
                m.created_at,
            )
            self.rows[m.id] = (stored, m.expires_at, None)
        return frozenset(refused)

    async def pending_messages(
        self, recipient_id: uuid.UUID, *, after_seq: int = 0, limit: int = 500
    ) -> list[StoredMessage]:
        await trio.lowlevel.checkpoint()
        now = datetime.now(UTC)
        found = [
            m
            for m, expires, acked in self.rows.values()
            if m.recipient_id == recipient_id
            and acked is None
            and expires > now
            and m.seq > after_seq
        ]
        return sorted(found, key=lambda m: m.seq)[:limit]

    async def ack_messages(self, recipient_id: uuid.UUID, ids: Sequence[str]) -> int:
        await trio.lowlevel.checkpoint()
        changed = 0
        for i in ids:
            row = self.rows.get(i)
            if row and row[0].recipient_id == recipient_id and row[2] is None:
                self.rows[i] = (row[0], row[1], datetime.now(UTC))
                changed += 1
        return changed

    async def purge_messages(self, *, now: datetime, retain_until: datetime) -> int:
        await trio.lowlevel.checkpoint()
        doomed = [
            i
            for i, (m, expires, acked) in self.rows.items()
            if (acked is None and expires <= now)
            or (acked is not None and m.created_at < retain_until)
        ]
        for i in doomed:
            del self.rows[i]
        return len(doomed)

    async def conversation(
        self,
        user_id: uuid.UUID,
        other_id: uuid.UUID,
        *,
        before: datetime | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> list[StoredMessage]:
        await trio.lowlevel.checkpoint()
        pair = {user_id, other_id}
        found = [
            m
            for m, _, _ in self.rows.values()
            if {m.sender_id, m.recipient_id} == pair
            and (
                before is None
                or (m.created_at, m.seq) < (before, before_seq if before_seq is not None else 0)
            )
        ]
        return sorted(found, key=lambda m: (m.created_at, m.seq), reverse=True)[:limit]

    async def count_pending(self, recipient_id: uuid.UUID | None = None) -> int:
        await trio.lowlevel.checkpoint()
        now = datetime.now(UTC)
        return sum(
            1
            for m, expires, acked in self.rows.values()
            if acked is None and expires > now and recipient_id in (None, m.recipient_id)
        )


class MemoryStore(MemoryMessages):
    backend = "memory"
    migrations_applied: tuple[int, ...] = ()

    def __init__(self) -> None:
        super().__init__()
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

    async def get_users(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
        await trio.lowlevel.checkpoint()
        return {u: self.users[u] for u in user_ids if u in self.users}

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
