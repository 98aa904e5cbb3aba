"""Every user online on this node, asked of the hub a page at a time: the hub's loop is
never held for more than one page (`_online`), whoever wants the whole list."""

from __future__ import annotations

from functools import partial

from actors import ActorRef

from ._messages import GetOnlinePage, HubMsg
from ._online import OnlineUser

#: Users per page of a walk: each page holds the hub's loop for a few milliseconds at most.
WALK_PAGE = 250


async def all_online(
    hub: ActorRef[HubMsg], *, call_timeout: float, page: int = WALK_PAGE
) -> list[OnlineUser]:
    """Every page, joined; `ActorError` when the hub does not answer one within `call_timeout`."""
    users: list[OnlineUser] = []
    after = None
    while True:
        got = await hub.call(partial(GetOnlinePage, after, page), timeout=call_timeout)
        users += got.users
        if got.next is None:
            return users
        after = got.next
