"""`SenderLimits`: one token bucket per user, on times given by the test (no clock at all).

Rules: pure and synchronous; every time is explicit.
"""

from __future__ import annotations

import uuid

import pytest

from momentum.hub._senders import SenderLimits

ALICE, BOB = uuid.UUID(int=1), uuid.UUID(int=2)


def test_a_user_gets_its_burst_then_its_rate_and_others_their_own() -> None:
    limits = SenderLimits(rate=2.0, burst=3)
    assert [limits.wait_for(ALICE, 10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limits.wait_for(ALICE, 10.0) == pytest.approx(0.5)
    assert limits.wait_for(BOB, 10.0) == 0.0
    assert limits.wait_for(ALICE, 10.25) == pytest.approx(0.25)
    assert limits.wait_for(ALICE, 10.5) == 0.0
    assert limits.wait_for(ALICE, 10.5) == pytest.approx(0.5)


def test_full_buckets_are_forgotten_and_no_rate_means_no_limit() -> None:
    limits = SenderLimits(rate=2.0, burst=3)
    limits.wait_for(ALICE, 0.0)
    limits.wait_for(BOB, 1.0)
    limits.forget_idle(2.0)
    assert len(limits) == 1  # alice's bucket is full again (1.5 s at 2/s), bob's is not
    limits.forget_idle(2.5)
    assert len(limits) == 0
    unlimited = SenderLimits(rate=0.0, burst=1)
    assert all(unlimited.wait_for(ALICE, 0.0) == 0.0 for _ in range(100))
    assert len(unlimited) == 0
