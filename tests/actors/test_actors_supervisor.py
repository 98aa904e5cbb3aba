"""Supervision: one-for-one restarts, restart types, restart intensity, ordered shutdown.

Rules of this module:
- Time is Trio's: tests take ``autojump_clock`` and assert exact times and
  counts on it; none sleeps for real.
- Every test runs under an outer ``trio.fail_after(TEST_DEADLINE)``.
- Before asserting on state other tasks change, wait with
  ``trio.testing.wait_all_tasks_blocked()``.
- Faults are injected, never simulated: a child raises (`Injected`) or a
  crash message is sent to a real actor; tests then assert exactly which
  children survived, restarted or were cleaned up.
- Crash logs are expected; tests that crash children check them with caplog.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import trio
import trio.testing

from actors import (
    ActorGone,
    ActorRef,
    ChildSpec,
    ChildStatistics,
    Mailbox,
    Restart,
    RestartIntensityExceeded,
    Strategy,
    Supervisor,
    actor_spec,
    open_mailbox,
    open_supervisor,
)

from ._children import Injected, Journal, probe

TEST_DEADLINE = 60.0


@dataclass(frozen=True)
class Bump:
    pass


@dataclass(frozen=True)
class Crash:
    pass


BumperMsg = Bump | Crash


async def bumper(
    inbox: Mailbox[BumperMsg], *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """An actor with state (bumps seen) that crashes on request."""
    bumps = 0
    task_status.started()
    async for msg in inbox:
        match msg:
            case Bump():
                bumps += 1
                logging.getLogger("test").info("bumps=%d", bumps)
            case Crash():
                raise Injected(f"after {bumps} bumps")


async def start_bumper(sup: Supervisor, name: str, *, capacity: int) -> ActorRef[BumperMsg]:
    """Start a `bumper` under `sup` on a fresh mailbox; its ref once it is ready."""
    ref, inbox = open_mailbox[BumperMsg](name, capacity)
    await sup.start(actor_spec(name, bumper, inbox))
    return ref


async def test_start_returns_the_started_value_and_statistics_list_children() -> None:
    with trio.fail_after(TEST_DEADLINE):
        journal = Journal()
        async with open_supervisor("sup") as sup:
            assert await sup.start(probe(journal, "a")) == "a"
            sup.start_soon(probe(journal, "b"))
            await trio.testing.wait_all_tasks_blocked()
            stats = sup.statistics()
            assert stats.name == "sup"
            assert stats.strategy is Strategy.ONE_FOR_ONE
            assert stats.children == (
                ChildStatistics("a", Restart.PERMANENT, 0, True),
                ChildStatistics("b", Restart.PERMANENT, 0, True),
            )
            with pytest.raises(ValueError, match="already runs"):
                await sup.start(probe(journal, "a"))
        assert journal.of("stop") == ["b", "a"]


async def test_crashed_actor_restarts_with_fresh_state_and_the_same_ref(
    autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        caplog.set_level(logging.INFO)
        async with open_supervisor("sup") as sup:
            ref = await start_bumper(sup, "bumper", capacity=8)
            await ref.cast(Bump())
            await ref.cast(Bump())
            await ref.cast(Crash())
            await ref.cast(Bump())
            await trio.testing.wait_all_tasks_blocked()
            assert sup.statistics().children == (
                ChildStatistics("bumper", Restart.PERMANENT, 1, True),
            )
            assert sup.statistics().restarts == 1
        bumps = [r.getMessage() for r in caplog.records if r.name == "test"]
        assert bumps == ["bumps=1", "bumps=2", "bumps=1"]  # fresh state after the restart
        crashes = [r for r in caplog.records if r.name == "actors" and "crashed" in r.message]
        assert len(crashes) == 1
        assert "'bumper'" in crashes[0].message
        assert crashes[0].exc_info is not None and crashes[0].exc_info[0] is Injected


async def test_restart_intensity_escalates_at_the_exact_time_and_count(
    autojump_clock: trio.abc.Clock, count_tasks: Callable[[], int]
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        journal = Journal()
        tasks_before = count_tasks()
        stats = None
        with pytest.raises(RestartIntensityExceeded):
            async with open_supervisor("sup", max_restarts=3, period=5) as sup:
                await sup.start(probe(journal, "bystander"))
                await sup.start(probe(journal, "flaky", crash_after=1))
                try:
                    await trio.sleep_forever()
                finally:
                    stats = sup.statistics()
        # Crashes at 1, 2, 3 are restarted; the 4th crash (4 in 5 s) escalates.
        assert [t for kind, _, t in journal.events if kind == "crash"] == [1, 2, 3, 4]
        assert journal.of("start") == ["bystander"] + ["flaky"] * 4
        assert journal.of("stop") == ["bystander"]
        assert trio.current_time() == 4
        assert stats is not None and stats.restarts == 3
        assert count_tasks() == tasks_before


async def test_restarts_spread_over_time_never_escalate(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(TEST_DEADLINE):
        journal = Journal()
        async with open_supervisor("sup", max_restarts=2, period=5) as sup:
            await sup.start(probe(journal, "slow-flaky", crash_after=2.5))
            await trio.sleep(26)
            # Crashes at 2.5, 5, 7.5, ...: at most 2 within any 5 s window.
            assert sup.statistics().restarts == 10
        assert journal.of("crash") == ["slow-flaky"] * 10


async def test_temporary_child_crash_is_not_restarted_and_siblings_are_untouched(
    autojump_clock: trio.abc.Clock,
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        journal = Journal()
        async with open_supervisor("sup", max_restarts=0) as sup:
            await sup.start(probe(journal, "sibling"))
            sup.start_soon(probe(journal, "temp", crash_after=1, restart=Restart.TEMPORARY))
            sup.start_soon(probe(journal, "other-temp", restart=Restart.TEMPORARY))
            await trio.sleep(10)
            await trio.testing.wait_all_tasks_blocked()
            stats = sup.statistics()
            assert stats.restarts == 0
            assert stats.children == (ChildStatistics("sibling", Restart.PERMANENT, 0, True),)
            assert stats.temporary_running == 1
            assert sorted(journal.of("start")) == ["other-temp", "sibling", "temp"]
            assert journal.of("stop") == []


async def test_permanent_restarts_after_a_crash_and_a_return_temporary_after_neither(
    autojump_clock: trio.abc.Clock,
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        journal = Journal()
        async with open_supervisor("sup", max_restarts=100, period=5) as sup:
            await sup.start(probe(journal, "t-ok", return_after=1, restart=Restart.TEMPORARY))
            await sup.start(probe(journal, "t-bad", crash_after=1, restart=Restart.TEMPORARY))
            await sup.start(probe(journal, "p-ok", return_after=1))
            await sup.start(probe(journal, "p-bad", crash_after=1))
            await trio.sleep(3.5)
            stats = sup.statistics()
            assert [c.name for c in stats.children] == ["p-ok", "p-bad"]
            assert stats.temporary_running == 0
        assert journal.of("start").count("t-ok") == 1
        assert journal.of("start").count("t-bad") == 1
        assert journal.of("start").count("p-ok") == 4
        assert journal.of("start").count("p-bad") == 4


async def test_cancelling_the_root_stops_every_actor_in_reverse_order_within_the_deadline(
    autojump_clock: trio.abc.Clock, count_tasks: Callable[[], int]
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        journal = Journal()
        tasks_before = count_tasks()
        with trio.move_on_after(10) as root:
            async with open_supervisor("root", strategy=Strategy.ONE_FOR_ALL) as sup:
                for name in ("storage", "hub", "listener"):
                    await sup.start(probe(journal, name, cleanup=1))
                refs = [await start_bumper(sup, f"actor-{i}", capacity=4) for i in range(3)]
                async with open_supervisor("connections") as inner:
                    for i in range(3):
                        inner.start_soon(probe(journal, f"conn-{i}", restart=Restart.TEMPORARY))
                    await trio.sleep_forever()
        assert root.cancelled_caught
        stops = journal.of("stop")
        assert sorted(stops[:3]) == ["conn-0", "conn-1", "conn-2"]  # temporaries: together
        assert stops[3:] == ["listener", "hub", "storage"]  # then reverse start order
        assert [t for kind, _, t in journal.events if kind == "stop"] == [10, 10, 10, 11, 12, 13]
        assert trio.current_time() == 13
        assert count_tasks() == tasks_before
        for ref in refs:
            with pytest.raises(ActorGone):
                ref.cast_nowait(Bump())


async def test_shutdown_moves_on_after_a_childs_shutdown_timeout(
    autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        journal = Journal()
        async with open_supervisor("sup", shutdown_timeout=2) as sup:
            await sup.start(probe(journal, "first", cleanup=1))
            await sup.start(probe(journal, "stubborn", cleanup=30, shutdown_timeout=5))
            await sup.start(probe(journal, "last", cleanup=4))
        # "last" gets the default 2 s, "stubborn" its own 5 s: each stop moves on
        # when its timeout passes, but Trio still waits for every task to end.
        assert journal.events[3:] == [
            ("stop", "last", 4),
            ("stop", "first", 8),
            ("stop", "stubborn", 32),
        ]
        assert trio.current_time() == 32
        warnings = [r.message for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 2
        assert "'last'" in warnings[0] and "'stubborn'" in warnings[1]


async def test_many_temporary_children_leave_no_bookkeeping(
    autojump_clock: trio.abc.Clock, count_tasks: Callable[[], int]
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        journal = Journal()
        finished = 0

        async def connection(
            *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
        ) -> None:
            nonlocal finished
            await trio.sleep(1)
            finished += 1

        async with open_supervisor("connections") as sup:
            tasks_before = count_tasks()
            for i in range(5000):
                sup.start_soon(ChildSpec(f"conn-{i}", connection, Restart.TEMPORARY))
            await trio.testing.wait_all_tasks_blocked()
            assert sup.statistics().temporary_running == 5000
            assert count_tasks() == tasks_before + 5000
            await trio.sleep(1)
            await trio.testing.wait_all_tasks_blocked()
            assert finished == 5000
            assert sup.statistics().temporary_running == 0
            assert sup.statistics().children == ()
            assert sup._children == {}
            assert count_tasks() == tasks_before
        assert journal.events == []


async def test_start_propagates_a_failure_before_ready_without_restarting() -> None:
    with trio.fail_after(TEST_DEADLINE):

        async def broken(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            raise Injected("cannot start")

        async def lazy(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            return

        async with open_supervisor("sup") as sup:
            with pytest.raises(Injected):
                await sup.start(ChildSpec("broken", broken))
            with pytest.raises(RuntimeError, match="before it was ready"):
                await sup.start(ChildSpec("lazy", lazy))
            assert sup.statistics().children == ()
            assert sup.statistics().restarts == 0


async def test_stop_child_and_closed_supervisor(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(TEST_DEADLINE):
        journal = Journal()
        async with open_supervisor("sup") as sup:
            await sup.start(probe(journal, "a", cleanup=1))
            assert await sup.stop_child("a")
            assert not await sup.stop_child("a")
            assert journal.of("stop") == ["a"] and trio.current_time() == 1
        with pytest.raises(ActorGone):  # the block has ended: no new children
            sup.start_soon(probe(journal, "late"))
        with pytest.raises(ActorGone):
            await sup.start(probe(journal, "late"))
        assert journal.of("start") == ["a"]


async def test_base_exceptions_are_not_crashes() -> None:
    class Fatal(BaseException):
        pass

    async def fatal(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.lowlevel.checkpoint()
        raise Fatal

    with trio.fail_after(TEST_DEADLINE):
        sup: Supervisor | None = None
        with pytest.raises(Fatal):
            async with open_supervisor("sup") as sup:
                await sup.start(ChildSpec("fatal", fatal))
                await trio.sleep_forever()
        assert sup is not None and sup.statistics().restarts == 0
