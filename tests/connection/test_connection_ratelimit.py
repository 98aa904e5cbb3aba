"""TokenBucket: exact admissions on given times (the connection passes Trio's clock).

Rules of this module:
- The bucket takes ``now`` as an argument, so time is a plain float chosen by the test; the
  chosen steps are exact in binary floating point (halves and quarters).
- Tests are sync: no task, no clock, nothing to wait for.
"""

from __future__ import annotations

import pytest

from momentum.connection._ratelimit import FLOOD_WINDOW, TokenBucket


def allowed(bucket: TokenBucket, now: float, times: int) -> list[bool]:
    return [bucket.allow(now) for _ in range(times)]


def test_full_burst_at_once_then_refused() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert allowed(bucket, 0.0, 4) == [True, True, True, False]
    assert bucket.strikes == 1


def test_refills_at_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    allowed(bucket, 0.0, 3)
    assert allowed(bucket, 0.5, 2) == [True, False]  # one token per half second
    assert allowed(bucket, 1.5, 3) == [True, True, False]


def test_fractions_of_a_token_accumulate() -> None:
    bucket = TokenBucket(rate=2.0, burst=1, now=0.0)
    assert bucket.allow(0.0)
    assert not bucket.allow(0.25)  # half a token
    assert bucket.allow(0.5)  # the two halves make one


def test_refill_is_capped_at_burst() -> None:
    bucket = TokenBucket(rate=20.0, burst=40, now=0.0)
    allowed(bucket, 0.0, 40)
    assert allowed(bucket, 1000.0, 41) == [True] * 40 + [False]


def test_steady_rate_is_sustained_forever() -> None:
    bucket = TokenBucket(rate=4.0, burst=1, now=0.0)
    assert all(bucket.allow(n * 0.25) for n in range(1000))
    assert bucket.strikes == 0


def test_bucket_starts_full_at_its_creation_time() -> None:
    bucket = TokenBucket(rate=1.0, burst=2, now=100.0)
    assert allowed(bucket, 100.0, 3) == [True, True, False]
    assert bucket.allow(101.0)


def test_strikes_count_refusals_in_the_window_and_allowed_messages_do_not_reset_them() -> None:
    bucket = TokenBucket(rate=1.0, burst=2, now=0.0)
    allowed(bucket, 0.0, 2)
    allowed(bucket, 0.0, 2)
    assert bucket.strikes == 2
    assert bucket.allow(1.0)
    assert bucket.strikes == 2
    assert not bucket.allow(1.0)
    assert bucket.strikes == 3


def test_the_count_starts_again_with_a_new_window() -> None:
    bucket = TokenBucket(rate=1.0, burst=2, now=0.0)
    allowed(bucket, 0.0, 4)
    assert bucket.strikes == 2
    allowed(bucket, FLOOD_WINDOW, 3)  # refilled 2, third refused in a new window
    assert bucket.strikes == 1


def test_a_sustained_flood_above_the_rate_is_flooding_even_if_some_get_through() -> None:
    bucket = TokenBucket(rate=20.0, burst=40, now=0.0)
    now, sent = 0.0, 0
    while not bucket.flooding:  # 100 messages/s: 5 times the rate
        bucket.allow(now)
        now += 0.01
        sent += 1
    assert now < FLOOD_WINDOW


def test_flooding_after_more_than_burst_refusals_in_a_row() -> None:
    bucket = TokenBucket(rate=1.0, burst=3, now=0.0)
    allowed(bucket, 0.0, 3)
    for strike in range(1, 4):
        assert not bucket.allow(0.0)
        assert (bucket.strikes, bucket.flooding) == (strike, False)
    assert not bucket.allow(0.0)
    assert (bucket.strikes, bucket.flooding) == (4, True)


def test_flooding_ends_with_the_window() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, now=0.0)
    allowed(bucket, 0.0, 4)
    assert bucket.flooding
    assert bucket.allow(FLOOD_WINDOW)
    assert bucket.flooding  # allowed messages do not clear it
    assert not bucket.allow(FLOOD_WINDOW)
    assert not bucket.flooding


def test_spec_defaults_20_per_second_burst_40() -> None:
    bucket = TokenBucket(rate=20.0, burst=40, now=0.0)
    assert allowed(bucket, 0.0, 40) == [True] * 40
    assert not bucket.allow(0.0)
    assert allowed(bucket, 0.5, 11) == [True] * 10 + [False]


@pytest.mark.parametrize("rate", [0.0, -1.0])
def test_rate_zero_or_less_disables_the_limit(rate: float) -> None:
    bucket = TokenBucket(rate=rate, burst=1, now=0.0)
    assert all(allowed(bucket, 0.0, 10_000))
    assert bucket.strikes == 0
    assert not bucket.flooding
