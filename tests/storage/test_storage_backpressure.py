"""Back-pressure on the store writer's mailbox: senders wait while it is behind, and a batch
taken wakes only as many of them as there is room for.

Rules: a real mailbox and real waiting tasks, no actor; wait_all_tasks_blocked before
counting who got through; every test under fail_after.
"""

from __future__ import annotations

import trio
import trio.testing

from actors import open_mailbox
from momentum.storage import Backpressure, Barrier, WriterMsg


async def test_a_batch_wakes_only_as_many_senders_as_there_is_room_for() -> None:
    with trio.fail_after(5):
        ref, inbox = open_mailbox[WriterMsg]("writer", 100)
        backpressure = Backpressure(ref, high_water=50)
        for _ in range(60):
            ref.cast_nowait(Barrier())
        through = 0

        async def sender() -> None:
            nonlocal through
            await backpressure.wait_for_room()
            through += 1

        async with trio.open_nursery() as nursery:
            for _ in range(30):
                nursery.start_soon(sender)
            await trio.testing.wait_all_tasks_blocked()
            assert through == 0
            for _ in range(15):  # the actor took 15: depth 45, room for 5
                inbox.receive_nowait()
            backpressure.progressed()
            await trio.testing.wait_all_tasks_blocked()
            assert through == 5
            for _ in range(45):  # empty: room for everyone left
                inbox.receive_nowait()
            backpressure.progressed()
            await trio.testing.wait_all_tasks_blocked()
            assert through == 30
