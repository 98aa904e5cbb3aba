"""Restart rounds: one-for-all and rest-for-one, their order and their restart intensity.

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

from collections.abc import Callable

import pytest
import trio
import trio.testing

from actors import ChildSpec, RestartIntensityExceeded, Strategy, open_supervisor

from ._children import Injected, Journal, probe

TEST_DEADLINE = 60.0


def fails_its_first_restart(journal: Journal, name: str) -> ChildSpec[str]:
    """A `probe` whose second run crashes 1 s after it starts, before it is ready."""
    runs = 0

    async def start(*, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        nonlocal runs
        runs += 1
        if runs != 2:
            await probe(journal, name).start(task_status=task_status)
            return
        journal.log("start", name)
        await trio.sleep(1)
        journal.log("crash", name)
        raise Injected(name)

    return ChildSpec(name, start)


async def test_one_for_all_restarts_every_child_in_order(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(TEST_DEADLINE):
        journal = Journal()
        async with open_supervisor("root", strategy=Strategy.ONE_FOR_ALL) as sup:
            await sup.start(probe(journal, "a", cleanup=1))
            await sup.start(probe(journal, "b", crash_after=1))
            await sup.start(probe(journal, "c", cleanup=1))
            await trio.sleep(3.5)
            assert journal.events[3:] == [
                ("crash", "b", 1),
                ("stop", "c", 2),  # reverse start order, each waited for
                ("stop", "a", 3),
                ("start", "a", 3),  # start order
                ("start", "b", 3),
                ("start", "c", 3),
            ]
            stats = sup.statistics()
            assert stats.restarts == 1
            assert [c.restarts for c in stats.children] == [1, 1, 1]
            await sup.stop_child("b")  # not a crash: nobody else restarts
            await trio.testing.wait_all_tasks_blocked()
            assert [c.name for c in sup.statistics().children] == ["a", "c"]


async def test_one_for_all_without_restarts_escalates_on_the_first_crash(
    autojump_clock: trio.abc.Clock, count_tasks: Callable[[], int]
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        journal = Journal()
        tasks_before = count_tasks()
        with pytest.raises(RestartIntensityExceeded):
            async with open_supervisor(
                "root", strategy=Strategy.ONE_FOR_ALL, max_restarts=0
            ) as sup:
                for name in ("a", "b", "c"):
                    await sup.start(probe(journal, name, cleanup=0.5))
                sup.start_soon(probe(journal, "d", crash_after=2))
                await trio.sleep_forever()
        assert journal.of("stop") == ["c", "b", "a"]
        assert trio.current_time() == 3.5
        assert count_tasks() == tasks_before


@pytest.mark.parametrize(
    ("crashing", "after_the_crash", "restarts"),
    [
        (
            "a",
            [
                ("stop", "c", 4),
                ("stop", "b", 5),
                ("start", "a", 5),
                ("start", "b", 5),
                ("start", "c", 5),
            ],
            [1, 1, 1],
        ),
        ("b", [("stop", "c", 4), ("start", "b", 4), ("start", "c", 4)], [0, 1, 1]),
        ("c", [("start", "c", 3)], [0, 0, 1]),
    ],
    ids=["a-crashes", "b-crashes", "c-crashes"],
)
async def test_rest_for_one_restarts_the_crashed_child_and_every_later_one(
    autojump_clock: trio.abc.Clock,
    crashing: str,
    after_the_crash: list[tuple[str, str, float]],
    restarts: list[int],
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        journal = Journal()
        async with open_supervisor("group", strategy=Strategy.REST_FOR_ONE) as sup:
            for name in ("a", "b", "c"):
                crash_after = 3 if name == crashing else None
                await sup.start(probe(journal, name, crash_after=crash_after, cleanup=1))
            await trio.sleep(5.5)
            # Later children stopped in reverse start order, each waited for, then the
            # crashed one and those after it started in start order; earlier ones run on.
            assert journal.events[3:] == [("crash", crashing, 3), *after_the_crash]
            stats = sup.statistics()
            assert stats.restarts == 1
            assert [c.restarts for c in stats.children] == restarts
        assert journal.of("stop")[-3:] == ["c", "b", "a"]  # start order kept


@pytest.mark.parametrize(
    "strategy", [Strategy.ONE_FOR_ALL, Strategy.REST_FOR_ONE], ids=["ONE_FOR_ALL", "REST_FOR_ONE"]
)
async def test_every_round_counts_as_one_restart_and_too_many_escalate(
    autojump_clock: trio.abc.Clock, count_tasks: Callable[[], int], strategy: Strategy
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        journal = Journal()
        tasks_before = count_tasks()
        stats = None
        with pytest.raises(RestartIntensityExceeded):
            async with open_supervisor("group", strategy=strategy, max_restarts=1) as sup:
                await sup.start(probe(journal, "a"))
                await sup.start(probe(journal, "b", crash_after=1))
                await sup.start(probe(journal, "c"))
                try:
                    await trio.sleep_forever()
                finally:
                    stats = sup.statistics()
        # The crash at 1 starts a round; the one at 2 would be a second round within 5 s.
        assert [t for kind, _, t in journal.events if kind == "crash"] == [1, 2]
        assert journal.of("stop")[-2:] == ["c", "a"]
        assert trio.current_time() == 2
        assert stats is not None and stats.restarts == 1
        assert count_tasks() == tasks_before


@pytest.mark.parametrize(
    ("strategy", "rounds", "restarts"),
    [
        (
            Strategy.ONE_FOR_ALL,
            [
                # round 1
                ("stop", "c", 3),
                ("stop", "a", 3),
                ("start", "a", 3),
                ("start", "b", 3),
                ("start", "c", 3),
                ("crash", "c", 4),
                # round 2
                ("stop", "b", 4),
                ("stop", "a", 4),
                ("start", "a", 4),
                ("start", "b", 4),
                ("start", "c", 4),
            ],
            [2, 2, 2],
        ),
        (
            Strategy.REST_FOR_ONE,
            [
                # round 1
                ("stop", "c", 3),
                ("start", "b", 3),
                ("start", "c", 3),
                ("crash", "c", 4),
                # round 2: from c, the earliest child waiting for it
                ("start", "c", 4),
            ],
            [0, 1, 2],
        ),
    ],
    ids=["ONE_FOR_ALL", "REST_FOR_ONE"],
)
async def test_a_crash_during_a_round_runs_another_round(
    autojump_clock: trio.abc.Clock,
    caplog: pytest.LogCaptureFixture,
    strategy: Strategy,
    rounds: list[tuple[str, str, float]],
    restarts: list[int],
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        journal = Journal()
        async with open_supervisor("group", strategy=strategy) as sup:
            await sup.start(probe(journal, "a"))
            await sup.start(probe(journal, "b", crash_after=3))
            await sup.start(fails_its_first_restart(journal, "c"))
            await trio.sleep(5)
            # c crashes while the first round starts it again: a second round follows.
            assert journal.events[3:] == [("crash", "b", 3), *rounds]
            stats = sup.statistics()
            assert stats.restarts == 2
            assert [c.restarts for c in stats.children] == restarts
        crashed = [r.message for r in caplog.records if "crashed" in r.message]
        assert len(crashed) == 2 and "'b'" in crashed[0] and "'c'" in crashed[1]
