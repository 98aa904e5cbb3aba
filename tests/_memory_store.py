"""An in-memory `Store` for tests that run on Trio's autojump clock.

SQLite answers from a worker thread, and the autojump clock would jump ahead while a query
is in flight; tests of time use this store instead. It keeps the real stores' contract: it
runs through the same contract tests in tests/storage (param `memory`), less the few that
reopen a database. Like the real stores, it validates a whole call before changing
anything, keeps ids canonical and times in UTC, and judges expiry by the wall clock.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import trio

from momentum.storage import (
    MAX_CONVERSATION_LIMIT,
    NewMessage,
    NewUser,
    Pending,
    RecipientLimits,
    RefreshToken,
    Revoked,
    SaveRefusal,
    SpentRefresh,
    StoredMessage,
    User,
    UserExists,
    admit,
    forgive_retries,
    quota_refused_ids,
)
from tests._memory_rooms import MemoryRooms


@asynccontextmanager
async def open_memory_store() -> AsyncIterator[MemoryStore]:
    """A new, empty store: the memory counterpart of `open_store` (nothing to close)."""
    yield MemoryStore()


@dataclass(frozen=True, slots=True)
class _Row:
    message: StoredMessage
    expires_at: datetime
    acked_at: datetime | None = None

    def is_pending(self, now: datetime) -> bool:
        return self.acked_at is None and self.expires_at > now


def _canonical_id(value: str) -> str:
    """The canonical (lowercase) UUID string; `ValueError` if `value` is not a UUID."""
    return str(uuid.UUID(value))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: storage needs timezone-aware times")
    return moment.astimezone(UTC)


def _check_limit(limit: int, maximum: int | None = None) -> None:
    if limit < 1 or (maximum is not None and limit > maximum):
        raise ValueError(f"limit out of range: {limit}")


class MemoryMessages:
    """Stored messages for `MemoryStore`, by canonical id (in `seq` order, as inserted)."""

    def __init__(self) -> None:
        self._rows: dict[str, _Row] = {}
        self._seq = 0
        self._users: dict[uuid.UUID, User] = {}  # MemoryStore's, read to admit messages

    async def save_messages(
        self, messages: Sequence[NewMessage], *, limits: RecipientLimits | None = None
    ) -> dict[NewMessage, SaveRefusal]:
        await trio.lowlevel.checkpoint()
        checked = [
            (m, _canonical_id(m.id), _utc(m.created_at), _utc(m.expires_at)) for m in messages
        ]
        refused: dict[NewMessage, SaveRefusal] = {}
        if limits is not None:
            recipients = [m.recipient_id for m in messages]
            refused = admit(messages, recipients, self._pending_by_recipient(messages), limits)
            owners = {
                key: (row.message.sender_id, row.message.recipient_id)
                for key in quota_refused_ids(refused)
                if (row := self._rows.get(key)) is not None
            }
            forgive_retries(refused, owners)
        for m, key, created_at, expires_at in checked:
            if m in refused:
                continue
            if key in self._rows:
                kept = self._rows[key].message
                if (kept.sender_id, kept.recipient_id) != (m.sender_id, m.recipient_id):
                    refused[m] = SaveRefusal.DUPLICATE_ID
                continue
            self._seq += 1
            stored = StoredMessage(
                key, self._seq, m.sender_id, m.recipient_id, m.message_type, m.envelope, created_at
            )
            self._rows[key] = _Row(stored, expires_at)
        return refused

    def _pending_by_recipient(self, messages: Sequence[NewMessage]) -> dict[uuid.UUID, Pending]:
        users = {m.recipient_id for m in messages if m.recipient_id in self._users}
        held = dict.fromkeys(users, Pending())
        for row in self._rows.values():  # expired ones too, until they are purged
            recipient = row.message.recipient_id
            if recipient in held and row.acked_at is None:
                was = held[recipient]
                held[recipient] = Pending(was.count + 1, was.bytes + len(row.message.envelope))
        return held

    async def save_and_ack(
        self,
        messages: Sequence[NewMessage],
        acks: Mapping[uuid.UUID, Sequence[str]],
        *,
        limits: RecipientLimits | None = None,
    ) -> dict[NewMessage, SaveRefusal]:
        # Through the two methods, so that a test store overriding either sees the writer.
        refused = await self.save_messages(messages, limits=limits) if messages else {}
        if acks:
            await self.ack_messages(acks)
        return refused

    async def pending_counts(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        await trio.lowlevel.checkpoint()
        wanted, counts = set(user_ids), dict[uuid.UUID, int]()
        for row in self._rows.values():  # expired ones too, until they are purged
            recipient = row.message.recipient_id
            if recipient in wanted and row.acked_at is None:
                counts[recipient] = counts.get(recipient, 0) + 1
        return counts

    async def pending_messages(
        self, recipient_id: uuid.UUID, *, after_seq: int = 0, limit: int = 500
    ) -> list[StoredMessage]:
        _check_limit(limit)
        await trio.lowlevel.checkpoint()
        now = datetime.now(UTC)
        found = [
            row.message
            for row in self._rows.values()
            if row.message.recipient_id == recipient_id
            and row.is_pending(now)
            and row.message.seq > after_seq
        ]
        return found[:limit]

    async def ack_messages(self, acks: Mapping[uuid.UUID, Sequence[str]]) -> int:
        await trio.lowlevel.checkpoint()
        now = datetime.now(UTC)
        changed = 0
        for recipient_id, ids in acks.items():
            keys: dict[str, None] = {}
            for value in ids:
                try:
                    keys[_canonical_id(value)] = None
                except (ValueError, TypeError, AttributeError):
                    continue
            for key in keys:
                row = self._rows.get(key)
                if row and row.message.recipient_id == recipient_id and row.acked_at is None:
                    self._rows[key] = replace(row, acked_at=now)
                    changed += 1
        return changed

    async def purge_messages(self, *, now: datetime, retain_until: datetime) -> int:
        now, retain_until = _utc(now), _utc(retain_until)
        await trio.lowlevel.checkpoint()
        doomed = [
            key
            for key, row in self._rows.items()
            if (row.acked_at is None and row.expires_at <= now)
            or (row.acked_at is not None and row.message.created_at < retain_until)
        ]
        for key in doomed:
            del self._rows[key]
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
        _check_limit(limit, MAX_CONVERSATION_LIMIT)
        if before is None and before_seq is not None:
            raise ValueError("before_seq needs before: the cursor is (created_at, seq)")
        cursor = None if before is None else (_utc(before), before_seq or 0)
        await trio.lowlevel.checkpoint()
        pairs = {(user_id, other_id), (other_id, user_id)}
        found = [
            row.message
            for row in self._rows.values()
            if (row.message.sender_id, row.message.recipient_id) in pairs
            and (cursor is None or (row.message.created_at, row.message.seq) < cursor)
        ]
        return sorted(found, key=lambda m: (m.created_at, m.seq), reverse=True)[:limit]

    async def count_pending(self, recipient_id: uuid.UUID | None = None) -> int:
        await trio.lowlevel.checkpoint()
        now = datetime.now(UTC)
        return sum(
            1
            for row in self._rows.values()
            if row.is_pending(now) and recipient_id in (None, row.message.recipient_id)
        )


def _email_key(email: str) -> str:
    return email.strip().lower()


def _username_key(username: str) -> str:
    return username.casefold()


@dataclass
class _Refresh:
    token: RefreshToken
    spent: bool
    revoked: bool


class MemoryStore(MemoryMessages, MemoryRooms):
    """Users, messages and rooms in dicts; a `Store` with no persistence and no schema."""

    backend = "memory"
    migrations_applied: tuple[int, ...] = ()

    def __init__(self) -> None:
        MemoryMessages.__init__(self)
        MemoryRooms.__init__(self)
        self._users: dict[uuid.UUID, User] = {}
        self._by_email: dict[str, uuid.UUID] = {}
        self._by_username: dict[str, uuid.UUID] = {}
        self._revoked_tokens: dict[str, datetime] = {}
        self._revoked_sessions: dict[str, datetime] = {}
        self._valid_after: dict[uuid.UUID, datetime] = {}
        self._refresh: dict[str, _Refresh] = {}

    async def create_user(self, new: NewUser) -> User:
        return (await self.create_users([new]))[0]

    async def create_users(self, new: Sequence[NewUser]) -> list[User]:
        await trio.lowlevel.checkpoint()
        emails, usernames = set(self._by_email), set(self._by_username)
        for n in new:
            email, username = _email_key(n.email), _username_key(n.username)
            if email in emails:
                raise UserExists("email")
            if username in usernames:
                raise UserExists("username")
            emails.add(email)
            usernames.add(username)
        made = [
            User(
                uuid.uuid4(),
                _email_key(n.email),
                n.username,
                n.password_hash,
                n.is_active,
                n.is_admin,
                datetime.now(UTC),
            )
            for n in new
        ]
        for user in made:
            self._users[user.id] = user
            self._by_email[user.email] = user.id
            self._by_username[_username_key(user.username)] = user.id
        return made

    async def get_user(self, user_id: uuid.UUID) -> User | None:
        await trio.lowlevel.checkpoint()
        return self._users.get(user_id)

    async def get_users(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
        await trio.lowlevel.checkpoint()
        return {u: self._users[u] for u in user_ids if u in self._users}

    async def find_user(self, login: str) -> User | None:
        # An email match wins over a username that happens to look like an email.
        await trio.lowlevel.checkpoint()
        user_id = self._by_email.get(_email_key(login)) or self._by_username.get(
            _username_key(login)
        )
        return None if user_id is None else self._users[user_id]

    async def set_user_flags(
        self, user_id: uuid.UUID, *, is_active: bool | None = None, is_admin: bool | None = None
    ) -> User | None:
        await trio.lowlevel.checkpoint()
        user = self._users.get(user_id)
        if user is None:
            return None
        user = replace(
            user,
            is_active=user.is_active if is_active is None else is_active,
            is_admin=user.is_admin if is_admin is None else is_admin,
        )
        self._users[user_id] = user
        return user

    async def count_users(self) -> int:
        await trio.lowlevel.checkpoint()
        return len(self._users)

    async def list_users(self, *, after: str = "", limit: int = 100) -> list[User]:
        await trio.lowlevel.checkpoint()
        _check_limit(limit)
        keys = sorted(k for k in self._by_username if k > _username_key(after))
        return [self._users[self._by_username[k]] for k in keys[:limit]]

    async def delete_user(self, user_id: uuid.UUID) -> bool:
        await trio.lowlevel.checkpoint()
        user = self._users.pop(user_id, None)
        if user is None:
            return False
        del self._by_email[user.email], self._by_username[_username_key(user.username)]
        return True

    async def revoke_token(self, jti: str, user_id: uuid.UUID, expires_at: datetime) -> None:
        await trio.lowlevel.checkpoint()
        self._revoked_tokens.setdefault(jti, _utc(expires_at))

    async def revoke_session(
        self, session_id: str, user_id: uuid.UUID, expires_at: datetime
    ) -> None:
        await trio.lowlevel.checkpoint()
        self._end_sessions(lambda r: r.session_id == session_id)
        before = self._revoked_sessions.get(session_id, _utc(expires_at))
        self._revoked_sessions[session_id] = max(before, _utc(expires_at))

    async def set_password(
        self, user_id: uuid.UUID, password_hash: str, *, tokens_valid_after: datetime
    ) -> bool:
        await trio.lowlevel.checkpoint()
        user = self._users.get(user_id)
        if user is None:
            return False
        self._end_sessions(lambda r: r.user_id == user_id)
        self._users[user_id] = replace(user, password_hash=password_hash)
        self._valid_after[user_id] = _utc(tokens_valid_after)
        return True

    async def load_revoked(self, now: datetime) -> Revoked:
        await trio.lowlevel.checkpoint()
        tokens = {jti: at for jti, at in self._revoked_tokens.items() if at > _utc(now)}
        sessions = {sid: at for sid, at in self._revoked_sessions.items() if at > _utc(now)}
        return Revoked(tokens, dict(self._valid_after), sessions)

    async def save_refresh_token(self, token: RefreshToken) -> None:
        await trio.lowlevel.checkpoint()
        self._refresh[token.token_hash] = _Refresh(token, spent=False, revoked=False)

    async def spend_refresh_token(self, token_hash: str, now: datetime) -> SpentRefresh | None:
        await trio.lowlevel.checkpoint()
        found = self._refresh.get(token_hash)
        if found is None or found.revoked or found.token.expires_at <= _utc(now):
            return None
        token = found.token
        if found.spent:
            self._end_sessions(lambda r: r.session_id == token.session_id)
        found.spent = True
        return SpentRefresh(token.user_id, token.session_id, reused=found.revoked)

    async def purge_tokens(self, now: datetime) -> int:
        await trio.lowlevel.checkpoint()
        now = _utc(now)
        tokens = [jti for jti, at in self._revoked_tokens.items() if at <= now]
        sessions = [sid for sid, at in self._revoked_sessions.items() if at <= now]
        refresh = [h for h, r in self._refresh.items() if r.revoked or r.token.expires_at <= now]
        for jti in tokens:
            del self._revoked_tokens[jti]
        for sid in sessions:
            del self._revoked_sessions[sid]
        for token_hash in refresh:
            del self._refresh[token_hash]
        return len(tokens) + len(sessions) + len(refresh)

    def _end_sessions(self, which: Callable[[RefreshToken], bool]) -> None:
        for stored in self._refresh.values():
            if which(stored.token):
                stored.revoked = True

    async def schema_version(self) -> int:
        await trio.lowlevel.checkpoint()
        return 0

    async def check(self) -> None:
        await trio.lowlevel.checkpoint()
