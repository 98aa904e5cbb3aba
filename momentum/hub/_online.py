"""Who is online, a page at a time: `GET /ws/online?limit=&cursor=`.

Users are listed in the order of their ids, and a page's cursor is the last id it lists: a
user online for the whole walk is listed exactly once, whoever joins or leaves meanwhile
(a user who joins behind the cursor is simply not seen). A page costs O(users · log limit)
on the hub, never a sort of everyone.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable, Iterable, Mapping
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


def page_of(
    everyone: Mapping[uuid.UUID, T],
    after: uuid.UUID | None,
    limit: int,
    describe: Callable[[uuid.UUID, T], OnlineUser],
) -> OnlinePage:
    """The `limit` users of `everyone` with the smallest ids above `after`."""
    candidates: Iterable[uuid.UUID] = everyone.keys()
    if after is not None:
        candidates = (user_id for user_id in candidates if user_id > after)
    chosen = heapq.nsmallest(limit + 1, candidates)
    more = len(chosen) > limit
    chosen = chosen[:limit]
    users = [describe(user_id, everyone[user_id]) for user_id in chosen]
    return OnlinePage(users, len(everyone), chosen[-1] if more else None)
