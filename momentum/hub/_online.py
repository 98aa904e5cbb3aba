"""Who is online, a page at a time: `GET /ws/online?limit=&cursor=`, and everyone who needs
every user online (the janitor, a cluster's heartbeat) page by page.

Users are listed in the order of their ids, and a page's cursor is the last id it lists: a
user online for the whole walk is listed exactly once, whoever joins or leaves meanwhile
(a user who joins behind the cursor is simply not seen). The hub keeps its users' ids
sorted (`OnlineIndex`), so a page costs it O(log users + limit): at 15,000 users a whole
list in one go held its loop for tens of milliseconds, a page of 1,000 takes a few.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

#: Users in one page when the request does not say, and at most.
DEFAULT_PAGE = 1_000
MAX_PAGE = 1_000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OnlineUser:
    user_id: uuid.UUID
    username: str
    connections: int
    connected_since: str


@dataclass(frozen=True, slots=True)
class OnlinePage:
    """Up to `limit` users after the cursor, by id; `total` online; `next` the cursor of the
    following page (None: this was the last)."""

    users: list[OnlineUser]
    total: int
    next: uuid.UUID | None


class OnlineIndex:
    """The ids of the users online, sorted (an insert or a removal moves pointers in C)."""

    __slots__ = ("_ids",)

    def __init__(self, ids: list[uuid.UUID] | None = None) -> None:
        self._ids = sorted(ids or [])

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, user_id: uuid.UUID) -> None:
        bisect.insort(self._ids, user_id)

    def discard(self, user_id: uuid.UUID) -> None:
        at = bisect.bisect_left(self._ids, user_id)
        if at < len(self._ids) and self._ids[at] == user_id:
            del self._ids[at]

    def after(self, cursor: uuid.UUID | None, limit: int) -> tuple[list[uuid.UUID], bool]:
        """Up to `limit` ids above `cursor`, and whether more follow."""
        start = 0 if cursor is None else bisect.bisect_right(self._ids, cursor)
        return self._ids[start : start + limit], start + limit < len(self._ids)


def page_of(
    everyone: Mapping[uuid.UUID, T],
    index: OnlineIndex,
    after: uuid.UUID | None,
    limit: int,
    describe: Callable[[uuid.UUID, T], OnlineUser],
) -> OnlinePage:
    """The page of `everyone` (indexed by `index`) after `after`."""
    ids, more = index.after(after, limit)
    users = [describe(user_id, everyone[user_id]) for user_id in ids]
    return OnlinePage(users, len(index), ids[-1] if more and ids else None)
