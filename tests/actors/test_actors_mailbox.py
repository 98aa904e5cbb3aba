"""Mailboxes, casts and calls.

Rules of this module:
- Time is Trio's: every test that lets time pass takes ``autojump_clock`` and
  asserts exact times on it; none sleeps for real.
- Every test runs under an outer ``trio.fail_after(TEST_DEADLINE)``.
- Before asserting on state another task changes, wait with
  ``trio.testing.wait_all_tasks_blocked()``.
- The counter actor below is the only actor; tests drive it through its ref.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import trio
import trio.lowlevel
import trio.testing

from actors import (
    ActorGone,
    ActorRef,
    CallTimeout,
    Mailbox,
    MailboxFull,
    MailboxStatistics,
    Reply,
    Supervisor,
    actor_spec,
    open_mailbox,
    open_supervisor,
)

TEST_DEADLINE = 30.0


@dataclass(frozen=True)
class Add:
    amount: int


@dataclass(frozen=True)
class Get:
    reply: Reply[int]


@dataclass(frozen=True)
class Divide:
    divisor: int
    reply: Reply[int]


@dataclass(frozen=True)
class Hold:
    """Take a request and never answer it."""

    reply: Reply[int]


CounterMsg = Add | Get | Divide | Hold


async def counter(
    inbox: Mailbox[CounterMsg], *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    total = 0
    task_status.started()
    async for msg in inbox:
        match msg:
            case Add(amount):
                total += amount
            case Get(reply):
                reply.send(total)
            case Divide(divisor, reply):
                try:
                    reply.send(total // divisor)
                except ZeroDivisionError as exc:
                    reply.fail(exc)
            case Hold():
                await trio.sleep_forever()


async def start_counter(sup: Supervisor) -> ActorRef[CounterMsg]:
    """Start a `counter` named "counter" under `sup`; its ref once it is ready."""
    ref, inbox = open_mailbox[CounterMsg]("counter", 8)
    await sup.start(actor_spec("counter", counter, inbox))
    return ref


async def test_cast_then_call_round_trip() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_supervisor("test") as sup:
            ref = await start_counter(sup)
            ref.cast_nowait(Add(2))
            await ref.cast(Add(3))
            assert await ref.call(Get, timeout=1) == 5
            assert await ref.call(lambda r: Divide(2, r), timeout=1) == 2
            assert ref.name == "counter"


async def test_reply_fail_raises_in_the_caller() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_supervisor("test") as sup:
            ref = await start_counter(sup)
            with pytest.raises(ZeroDivisionError):
                await ref.call(lambda r: Divide(0, r), timeout=1)
            assert await ref.call(Get, timeout=1) == 0  # the actor lives on


async def test_call_times_out_at_exact_trio_time(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(TEST_DEADLINE):
        ref, _inbox = open_mailbox[CounterMsg]("nobody reads", 4)
        start = trio.current_time()
        with pytest.raises(CallTimeout):
            await ref.call(Get, timeout=2.5)
        assert trio.current_time() - start == 2.5


async def test_call_timeout_covers_waiting_for_room(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(TEST_DEADLINE):
        ref, _inbox = open_mailbox[CounterMsg]("full", 1)
        ref.cast_nowait(Add(1))
        start = trio.current_time()
        with pytest.raises(CallTimeout):
            await ref.call(Get, timeout=3)
        assert trio.current_time() - start == 3
        assert ref.statistics().depth == 1  # the request never got in


async def test_late_answer_after_timeout_is_a_no_op(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(TEST_DEADLINE):
        ref, inbox = open_mailbox[CounterMsg]("slow", 4)
        with pytest.raises(CallTimeout):
            await ref.call(Get, timeout=1)
        msg = inbox.receive_nowait()
        assert isinstance(msg, Get)
        msg.reply.send(42)  # the caller left: nothing raises
        msg.reply.fail(RuntimeError("also ignored"))


async def test_cast_and_call_to_a_closed_mailbox_raise_actor_gone() -> None:
    with trio.fail_after(TEST_DEADLINE):
        ref, inbox = open_mailbox[CounterMsg]("closed", 4)
        inbox.close()
        with pytest.raises(ActorGone):
            ref.cast_nowait(Add(1))
        with pytest.raises(ActorGone):
            await ref.cast(Add(1))
        with pytest.raises(ActorGone):
            await ref.call(Get, timeout=1)
        assert ref.statistics().closed


async def test_call_to_a_stopped_actor_raises_actor_gone(
    autojump_clock: trio.abc.Clock,
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_supervisor("test") as sup:
            ref = await start_counter(sup)
            await sup.stop_child("counter")
            with pytest.raises(ActorGone):
                await ref.call(Get, timeout=5)
            assert trio.current_time() == 0


async def test_queued_call_gets_actor_gone_when_the_mailbox_closes(
    autojump_clock: trio.abc.Clock,
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        ref, inbox = open_mailbox[CounterMsg]("queue", 4)
        outcome: list[str] = []

        async def caller() -> None:
            try:
                await ref.call(Get, timeout=10)
            except ActorGone:
                outcome.append(f"gone at {trio.current_time()}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(caller)
            await trio.sleep(1)
            assert inbox.statistics().depth == 1
            inbox.close()
        assert outcome == ["gone at 1.0"]


async def test_actor_stopped_while_holding_a_call_wakes_the_caller(
    autojump_clock: trio.abc.Clock,
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_supervisor("test") as sup:
            ref = await start_counter(sup)
            outcome: list[str] = []

            async def caller() -> None:
                try:
                    await ref.call(Hold, timeout=10)
                except ActorGone:
                    outcome.append(f"gone at {trio.current_time()}")

            async with trio.open_nursery() as nursery:
                nursery.start_soon(caller)
                await trio.sleep(2)
                await sup.stop_child("counter")
            assert outcome == ["gone at 2.0"]


async def test_cast_nowait_raises_mailbox_full_and_cast_waits_for_room(
    autojump_clock: trio.abc.Clock,
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        ref, inbox = open_mailbox[CounterMsg]("small", 2)
        ref.cast_nowait(Add(1))
        ref.cast_nowait(Add(2))
        with pytest.raises(MailboxFull):
            ref.cast_nowait(Add(3))
        assert ref.statistics() == MailboxStatistics("small", depth=2, capacity=2, closed=False)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ref.cast, Add(3))
            await trio.testing.wait_all_tasks_blocked()
            assert inbox.statistics().depth == 2  # the blocked cast waits for room
            await trio.sleep(1)
            assert await inbox.receive() == Add(1)
        assert [inbox.receive_nowait(), inbox.receive_nowait()] == [Add(2), Add(3)]
        with pytest.raises(trio.WouldBlock):
            inbox.receive_nowait()


@pytest.mark.parametrize("capacity", [0, -1, math.inf, 2.5, True, "8"])
def test_capacity_must_be_a_positive_int(capacity: object) -> None:
    with pytest.raises(ValueError, match="capacity"):
        open_mailbox[int]("bad", capacity)  # type: ignore[arg-type]


async def test_mailbox_iteration_ends_when_closed() -> None:
    with trio.fail_after(TEST_DEADLINE):
        ref, inbox = open_mailbox[int]("numbers", 4)
        ref.cast_nowait(1)
        ref.cast_nowait(2)
        seen: list[int] = []
        async for number in inbox:
            seen.append(number)
            if number == 2:
                inbox.close()
        assert seen == [1, 2]
        assert inbox.statistics().closed


def test_refs_are_typed_and_named() -> None:
    ref: ActorRef[int]
    ref, inbox = open_mailbox[int]("typed", 1)
    assert repr(ref) == "<ActorRef 'typed'>"
    assert inbox.name == "typed"


async def test_receive_batch_waits_for_one_then_takes_what_is_waiting() -> None:
    with trio.fail_after(5):
        ref, inbox = open_mailbox[int]("batch", 10)
        async with trio.open_nursery() as nursery:

            async def send_later() -> None:
                await trio.lowlevel.checkpoint()
                for n in range(5):
                    ref.cast_nowait(n)

            nursery.start_soon(send_later)
            assert await inbox.receive_batch(3) == [0, 1, 2]  # at most the limit
        assert await inbox.receive_batch(10) == [3, 4]  # no waiting for more
        ref.cast_nowait(5)
        inbox.close()
        with pytest.raises(trio.ClosedResourceError):
            await inbox.receive_batch(10)
