"""The `Store` interface every backend implements."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from ._admission import RecipientLimits, SaveRefusal
from ._rooms_protocol import RoomStore
from ._session_types import RefreshToken, Revoked, SpentRefresh
from ._types import NewMessage, NewUser, StoredMessage, User


class Store(RoomStore, Protocol):
    """Persistent users, direct messages and rooms (`RoomStore`).

    Every method raises `StorageError` when the database fails, and `ValueError`
    for a caller bug (a naive datetime, a malformed id to save, a limit out of range).

    Messages: a saved message is *pending* until its recipient acks it or it
    expires; it is delivered in `seq` order. Acked messages stay for
    `conversation` history until `purge_messages` passes their retention.
    """

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

    async def get_users(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
        """The users that exist among `user_ids` (any number), by id: one query."""
        ...

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

    async def list_users(self, *, after: str = "", limit: int = 100) -> list[User]:
        """Up to `limit` (>= 1) users ordered by username, case-insensitively; page by
        passing the last username seen as `after`."""
        ...

    async def delete_user(self, user_id: uuid.UUID) -> bool:
        """Delete the user (not their stored messages); False if there was no such user."""
        ...

    async def revoke_token(self, jti: str, user_id: uuid.UUID, expires_at: datetime) -> None:
        """Record access token `jti` revoked until `expires_at` (again: a no-op)."""
        ...

    async def revoke_session(
        self, session_id: str, user_id: uuid.UUID, expires_at: datetime
    ) -> None:
        """End a session: revoke its refresh tokens, and its access tokens until
        `expires_at` (when the last of them expires)."""
        ...

    async def set_password(
        self, user_id: uuid.UUID, password_hash: str, *, tokens_valid_after: datetime
    ) -> bool:
        """Change the password and revoke the user's tokens issued before
        `tokens_valid_after`, refresh tokens included; False if the user is unknown."""
        ...

    async def load_revoked(self, now: datetime) -> Revoked:
        """The access tokens and sessions revoked and not expired at `now`, and each
        user's `tokens_valid_after`: what a process needs in memory to check tokens."""
        ...

    async def save_refresh_token(self, token: RefreshToken) -> None: ...

    async def spend_refresh_token(self, token_hash: str, now: datetime) -> SpentRefresh | None:
        """Spend an unexpired, unrevoked refresh token, at most once. Presented again once
        spent, its whole session is revoked and the answer says `reused`. None: unknown,
        expired or revoked."""
        ...

    async def purge_tokens(self, now: datetime) -> int:
        """Delete revocations (tokens, sessions) expired at `now`, and refresh tokens expired
        or revoked (a spent one is kept until it expires, to tell a replay); how many."""
        ...

    async def schema_version(self) -> int:
        """The highest applied migration version."""
        ...

    async def check(self) -> None:
        """Health probe: a cheap query; raises `StorageError` when the database is down."""
        ...

    async def save_messages(
        self, messages: Sequence[NewMessage], *, limits: RecipientLimits | None = None
    ) -> dict[NewMessage, SaveRefusal]:
        """Store a batch in one transaction (all or none), `seq` following batch order;
        return the messages it refused, and why. Nobody may be told a refused message is
        stored.

        Saving a message whose id is stored already from the same sender to the same
        recipient is a no-op, not an error: saving again (or a retry after a lost reply)
        never duplicates. A message whose id is stored for another sender or recipient is
        refused (`DUPLICATE_ID`).

        With `limits` (the server always gives them), a message to an id that is no user is
        refused (`UNKNOWN_RECIPIENT`), and so is one that would take its recipient's pending
        messages beyond `limits` (`RECIPIENT_QUOTA`), counting the batch's earlier ones.
        """
        ...

    async def save_and_ack(
        self,
        messages: Sequence[NewMessage],
        acks: Mapping[uuid.UUID, Sequence[str]],
        *,
        limits: RecipientLimits | None = None,
    ) -> dict[NewMessage, SaveRefusal]:
        """`save_messages`, then `ack_messages`, in one transaction (one commit): the store
        writer's batch. All or nothing: when it raises, neither the messages nor the acks
        were recorded."""
        ...

    async def pending_messages(
        self, recipient_id: uuid.UUID, *, after_seq: int = 0, limit: int = 500
    ) -> list[StoredMessage]:
        """Up to `limit` unacked, unexpired messages with `seq > after_seq`, oldest first.

        Page by passing the last `seq` seen as `after_seq`.
        """
        ...

    async def pending_counts(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """How many messages each of `user_ids` holds pending (absent: none), from the
        totals kept with every insert, ack and purge: one read per user, no message scanned.

        Unexpired and expired-not-yet-purged alike: a count of 0 means `pending_messages`
        finds nothing; more than 0, that it may.
        """
        ...

    async def ack_messages(self, acks: Mapping[uuid.UUID, Sequence[str]]) -> int:
        """Mark pending messages acked, `acks` giving each recipient the ids it acked, all
        in one transaction (one commit for a whole batch of recipients); how many changed.

        Ids that are unknown, malformed, already acked or someone else's are ignored.
        """
        ...

    async def purge_messages(self, *, now: datetime, retain_until: datetime) -> int:
        """Delete pending messages expired at `now` and acked ones created before
        `retain_until` (kept until then as history); how many were deleted."""
        ...

    async def conversation(
        self,
        user_id: uuid.UUID,
        other_id: uuid.UUID,
        *,
        before: datetime | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> list[StoredMessage]:
        """Up to `limit` (1..`MAX_CONVERSATION_LIMIT`) messages between the two users,
        either direction, acked or not, newest first: by `(created_at, seq)`.

        `before` keeps messages created before it. To page without skipping
        messages that share a timestamp, pass the oldest message seen as
        `before=m.created_at, before_seq=m.seq` (`before_seq` needs `before`).
        """
        ...

    async def count_pending(self, recipient_id: uuid.UUID | None = None) -> int:
        """Unacked, unexpired messages: the recipient's, or everyone's when None."""
        ...
