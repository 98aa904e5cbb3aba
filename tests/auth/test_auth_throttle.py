"""Login and sign-up throttles: token buckets by key, in tables of bounded size.

Rules of this module:
- Buckets and throttles take ``now`` as an argument, so time is a plain float chosen by the
  test (steps exact in binary floating point). Tests are sync: nothing to wait for.
"""

from __future__ import annotations

import pytest

from momentum.auth import AuthThrottles, BucketPolicy, ThrottlePolicy, retry_after
from momentum.auth._buckets import KeyedBuckets


def policy(**changes: object) -> ThrottlePolicy:
    values: dict[str, object] = {
        "login_account": BucketPolicy(burst=3, refill=4.0),
        "login_address": BucketPolicy(burst=5, refill=2.0),
        "register_address": BucketPolicy(burst=2, refill=8.0),
        "max_keys": 100,
    }
    values.update(changes)
    return ThrottlePolicy(**values)  # type: ignore[arg-type]


def test_bucket_burst_then_one_per_refill() -> None:
    buckets: KeyedBuckets[str] = KeyedBuckets(BucketPolicy(burst=2, refill=4.0), max_keys=10)
    assert [buckets.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 4.0]
    assert buckets.take("a", 1.0) == 3.0  # nothing taken while refused
    assert buckets.take("a", 4.0) == 0.0
    assert buckets.take("a", 4.0) == 4.0
    assert buckets.take("b", 4.0) == 0.0  # keys are independent


def test_bucket_forgets_full_buckets_and_caps_the_table() -> None:
    buckets: KeyedBuckets[str] = KeyedBuckets(BucketPolicy(burst=1, refill=1.0), max_keys=3)
    for key in "abcde":
        buckets.take(key, 0.0)
    assert len(buckets) == 3  # a and b were forgotten: they start full again
    assert buckets.take("a", 0.0) == 0.0
    assert buckets.take("e", 0.0) == 1.0  # the most recent keys are remembered
    buckets.give_back("e", 0.0)
    buckets.give_back("d", 0.0)
    assert len(buckets) == 1  # full again: nothing to remember but a
    assert buckets.take("e", 0.0) == 0.0


@pytest.mark.parametrize(
    "bad", [BucketPolicy(burst=0, refill=1.0), BucketPolicy(burst=1, refill=0.0)]
)
def test_bucket_refuses_nonsense(bad: BucketPolicy) -> None:
    with pytest.raises(ValueError):
        KeyedBuckets(bad, max_keys=1)


def test_login_throttled_per_account_from_any_address() -> None:
    throttles = AuthThrottles(policy())
    waits = [throttles.take_login(f"10.0.0.{i}", "Alice", 0.0) for i in range(4)]
    assert waits == [0.0, 0.0, 0.0, 4.0]
    assert throttles.take_login("10.0.0.9", "alice", 0.0) == 4.0  # case-insensitive
    assert throttles.take_login("10.0.0.9", "alice", 4.0) == 0.0  # one refill later
    # the refused attempts took nothing from the address
    assert [throttles.take_login("10.0.0.9", f"u{i}", 4.0) for i in range(5)].count(0.0) == 4


def test_login_throttled_per_address_across_accounts() -> None:
    throttles = AuthThrottles(policy())
    waits = [throttles.take_login("10.0.0.1", f"user{i}", 0.0) for i in range(6)]
    assert waits == [0.0] * 5 + [2.0]
    assert throttles.take_login("10.0.0.2", "user5", 0.0) == 0.0


def test_a_right_password_does_not_count() -> None:
    throttles = AuthThrottles(policy())
    for _ in range(10):
        assert throttles.take_login("10.0.0.1", "alice", 0.0) == 0.0
        throttles.give_back_login("10.0.0.1", "alice", 0.0)


def test_sign_ups_throttled_per_address() -> None:
    throttles = AuthThrottles(policy())
    assert [throttles.take_register("10.0.0.1", 0.0) for _ in range(3)] == [0.0, 0.0, 8.0]
    assert throttles.take_register("10.0.0.2", 0.0) == 0.0
    assert throttles.take_register("10.0.0.1", 8.0) == 0.0


@pytest.mark.parametrize(("seconds", "header"), [(0.01, "1"), (1.0, "1"), (29.2, "30")])
def test_retry_after_is_whole_seconds(seconds: float, header: str) -> None:
    assert retry_after(seconds) == header
