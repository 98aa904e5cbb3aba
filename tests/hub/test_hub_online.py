"""Pages of the online users: the sorted index, and `all_online` walking a running hub.

Rules of this module:
- The index is plain data: sync tests on numbered UUIDs (`uuid.UUID(int=n)`), so that the
  order is visible.
- `all_online` talks to a real `serve_hub` task over its mailbox, joined by fake handles
  (`test_hub.FakeHandle`), on Trio's clock, under `fail_after`.
"""

from __future__ import annotations

import uuid
from functools import partial

import trio
import trio.testing

from actors import open_mailbox
from momentum.hub import (
    HubConfig,
    HubMsg,
    Join,
    OnlineIndex,
    ReplayGate,
    Reserve,
    all_online,
    serve_hub,
)
from momentum.storage import WriterMsg

from .test_hub import FakeHandle


def ids(*numbers: int) -> list[uuid.UUID]:
    return [uuid.UUID(int=n) for n in numbers]


def test_the_index_keeps_ids_sorted_through_adds_and_removals() -> None:
    index = OnlineIndex(ids(5, 1))
    for user_id in ids(3, 9, 7):
        index.add(user_id)
    index.discard(uuid.UUID(int=1))
    index.discard(uuid.UUID(int=4))  # not there: nothing happens
    assert len(index) == 4
    assert index.after(None, 10) == (ids(3, 5, 7, 9), False)
    assert index.after(None, 2) == (ids(3, 5), True)
    assert index.after(uuid.UUID(int=5), 2) == (ids(7, 9), False)
    assert index.after(uuid.UUID(int=6), 1) == (ids(7), True)  # a cursor no longer online
    assert index.after(uuid.UUID(int=9), 5) == ([], False)


async def test_all_online_walks_every_page_of_a_running_hub_each_page_timed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    timed: list[str] = []
    config = HubConfig(
        max_connections=10,
        max_connections_per_user=2,
        presence_interval=0.5,
        observe_task=lambda task, seconds: timed.append(task),
    )
    writer, _writer_inbox = open_mailbox[WriterMsg]("writer", 100)
    ref, mailbox = open_mailbox[HubMsg]("hub", 100)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            main = partial(serve_hub, mailbox, ref=ref, writer=writer, config=config)
            await nursery.start(partial(main, started_at=0.0))
            users = ids(4, 2, 5, 1, 3)
            for n, user_id in enumerate(users):
                reservation = await ref.call(partial(Reserve, user_id), timeout=1)
                assert isinstance(reservation, int)
                await ref.cast(Join(FakeHandle(n, user_id), reservation, ReplayGate()))
            listed = await all_online(ref, call_timeout=1, page=2)
            assert [u.user_id for u in listed] == sorted(users)
            assert timed.count("online_page") == 3  # each page timed as hub work
            await trio.sleep(1.2)  # ticks at 0.5 and 1.0
            assert timed.count("presence_tick") == 2
            nursery.cancel_scope.cancel()
