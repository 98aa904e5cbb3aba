"""The password-hashing queue: a few slots, logins before sign-ups, bounded lines.

Rules of this module:
- Time is Trio's: every test takes ``autojump_clock`` and runs under an outer
  ``fail_after``; ``wait_all_tasks_blocked`` before asserting on who waits.
- The slots are held by the test's own tasks, so who gets a slot when is exact.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from momentum.auth import HashQueue, HashQueueFull, HashQueueStats, Priority

TIMEOUT = 10


async def hold(queue: HashQueue, priority: Priority, name: str, order: list[str]) -> None:
    async with queue.slot(priority):
        order.append(name)
        await trio.sleep(1)


async def test_logins_overtake_waiting_sign_ups(autojump_clock: trio.abc.Clock) -> None:
    queue = HashQueue(1, max_logins_waiting=4, max_signups_waiting=4)
    order: list[str] = []
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(hold, queue, Priority.SIGNUP, "signup-1", order)
            await trio.testing.wait_all_tasks_blocked()
            for name in ("signup-2", "signup-3"):
                nursery.start_soon(hold, queue, Priority.SIGNUP, name, order)
                await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(hold, queue, Priority.LOGIN, "login", order)
            await trio.testing.wait_all_tasks_blocked()
            assert queue.statistics() == HashQueueStats(1, 1, 2)
    assert order == ["signup-1", "login", "signup-2", "signup-3"]
    assert trio.current_time() == 4
    assert queue.statistics() == HashQueueStats(0, 0, 0)


async def test_a_full_line_refuses_at_once(autojump_clock: trio.abc.Clock) -> None:
    queue = HashQueue(2, max_logins_waiting=1, max_signups_waiting=0)
    order: list[str] = []
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            for name in ("a", "b", "c"):
                nursery.start_soon(hold, queue, Priority.LOGIN, name, order)
                await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(HashQueueFull):
                await hold(queue, Priority.LOGIN, "d", order)
            with pytest.raises(HashQueueFull, match="signup"):
                await hold(queue, Priority.SIGNUP, "e", order)
            assert trio.current_time() == 0
    assert order == ["a", "b", "c"]


async def test_a_cancelled_waiter_leaves_the_line(autojump_clock: trio.abc.Clock) -> None:
    queue = HashQueue(1, max_logins_waiting=1, max_signups_waiting=1)
    order: list[str] = []
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(hold, queue, Priority.LOGIN, "a", order)
            await trio.testing.wait_all_tasks_blocked()
            with trio.move_on_after(0.5):
                await hold(queue, Priority.LOGIN, "gave-up", order)
            nursery.start_soon(hold, queue, Priority.LOGIN, "b", order)
    assert order == ["a", "b"]
    assert trio.current_time() == 2
    assert queue.statistics() == HashQueueStats(0, 0, 0)


async def test_sign_ups_leave_a_slot_to_logins(autojump_clock: trio.abc.Clock) -> None:
    queue = HashQueue(2, max_logins_waiting=4, max_signups_waiting=4)
    order: list[str] = []
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            for name in ("signup-1", "signup-2"):
                nursery.start_soon(hold, queue, Priority.SIGNUP, name, order)
                await trio.testing.wait_all_tasks_blocked()
            assert queue.statistics() == HashQueueStats(1, 0, 1)  # one slot kept free
            nursery.start_soon(hold, queue, Priority.LOGIN, "login", order)
            await trio.testing.wait_all_tasks_blocked()
            assert trio.current_time() == 0  # the login did not wait
            assert queue.statistics() == HashQueueStats(2, 0, 1)
    assert order == ["signup-1", "login", "signup-2"]
    assert trio.current_time() == 2


def test_queue_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        HashQueue(0)
