"""Coalesced presence: `user_joined` / `user_left` without O(N²) work in a storm.

Announcing each join to everyone at once costs N frames per join, N² for a storm of N. The
hub instead records joins and leaves as they happen and flushes them once per presence
interval: at most one `user_joined` and one `user_left` frame per interval, each encoded once
and listing up to `MAX_LISTED` users (beyond that, a count in `more`; `GET /ws/online` has the
full list). A user who joins and leaves within one interval is never announced, and one who
leaves and comes back is not announced as leaving.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..protocol import MessageType, encode_envelope

MAX_LISTED = 100


class PresenceBatch:
    """Joins and leaves since the last flush."""

    __slots__ = ("_joined", "_left")

    def __init__(self) -> None:
        self._joined: dict[uuid.UUID, str] = {}
        self._left: dict[uuid.UUID, str] = {}

    def __bool__(self) -> bool:
        return bool(self._joined or self._left)

    def joined(self, user_id: uuid.UUID, username: str) -> None:
        if self._left.pop(user_id, None) is None:
            self._joined[user_id] = username

    def left(self, user_id: uuid.UUID, username: str) -> None:
        if self._joined.pop(user_id, None) is None:
            self._left[user_id] = username

    def flush(self) -> list[bytes]:
        """The envelopes to send to everyone (0 to 2), and a fresh batch."""
        envelopes = [
            encode_envelope(kind, _listing(users))
            for kind, users in (
                (MessageType.USER_JOINED, self._joined),
                (MessageType.USER_LEFT, self._left),
            )
            if users
        ]
        self._joined = {}
        self._left = {}
        return envelopes


def _listing(users: dict[uuid.UUID, str]) -> dict[str, Any]:
    listed = [
        {"user_id": str(user_id), "username": name}
        for user_id, name in list(users.items())[:MAX_LISTED]
    ]
    data: dict[str, Any] = {"users": listed, "count": len(users), "more": len(users) - len(listed)}
    if len(users) == 1:
        data.update(listed[0])
    return data
