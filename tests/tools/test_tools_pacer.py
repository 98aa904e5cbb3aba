"""The tools' pacer against the server's own token bucket.

Rules: no server and no I/O; time is Trio's (`autojump_clock`), times asserted exactly; an
outer `trio.fail_after` in every test. The property that matters: a sender paced by
`Pacer.for_server(rate, burst)` is never refused by the server's `TokenBucket(rate, burst)`,
even when each frame reaches the server up to a second late.
"""

from __future__ import annotations

import itertools
import random

import pytest
import trio

from momentum.connection._ratelimit import TokenBucket
from momentum.tools import SERVER_RATE_BURST, SERVER_RATE_LIMIT, Pacer


async def test_a_pacer_allows_its_burst_then_its_rate(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(60):
        pacer = Pacer(10, 3)
        start = trio.current_time()
        times = []
        for _ in range(6):
            await pacer.wait()
            times.append(round(trio.current_time() - start, 6))
        assert times == [0.0, 0.0, 0.0, 0.1, 0.2, 0.3]
        await trio.sleep(10)  # idle: the burst is back, and no more
        start = trio.current_time()
        for _ in range(4):
            await pacer.wait()
        assert round(trio.current_time() - start, 6) == 0.1


async def test_tasks_sharing_a_pacer_never_share_a_token(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(60):
        pacer = Pacer(20, 1)
        sent: list[float] = []

        async def sender() -> None:
            for _ in range(10):
                await pacer.wait()
                sent.append(trio.current_time())

        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(sender)
        gaps = [b - a for a, b in itertools.pairwise(sent)]
        assert len(sent) == 30
        assert min(gaps) == pytest.approx(0.05)


def test_rate_zero_does_not_pace() -> None:
    pacer = Pacer(0, 1)
    assert not pacer.paced
    assert [pacer.reserve(5.0) for _ in range(100)] == [5.0] * 100


def refusals(pacer: Pacer, seed: int) -> int:
    """Frames the server's default bucket refuses from a sender that always wants to send,
    pauses now and then, and whose frames take 0 to 1 s to be read (in order)."""
    rng = random.Random(seed)
    bucket = TokenBucket(SERVER_RATE_LIMIT, SERVER_RATE_BURST, now=0.0)
    now = arrived = 0.0
    refused = 0
    for _ in range(2000):
        now = pacer.reserve(now) + (rng.uniform(0, 3) if rng.random() < 0.01 else 0.0)
        arrived = max(arrived, now + rng.uniform(0, 1.0))
        refused += not bucket.allow(arrived)
    return refused


@pytest.mark.parametrize("seed", range(5))
def test_the_server_never_refuses_a_paced_sender_despite_a_second_of_jitter(seed: int) -> None:
    assert refusals(Pacer.for_server(SERVER_RATE_LIMIT, SERVER_RATE_BURST), seed) == 0
    # the half burst held back is what absorbs the jitter: the server's whole burst does not
    assert refusals(Pacer(SERVER_RATE_LIMIT, SERVER_RATE_BURST), seed) > 0
