"""Fixtures for the auth tests: a cheap hasher and a codec on a hand-driven clock."""

from __future__ import annotations

import pytest

from momentum.auth import PasswordHasher, TokenCodec

SECRET = "test-secret-0123456789abcdef-0123456789"
START = 1_700_000_000.0


class ManualClock:
    """Wall-clock stand-in for TokenCodec(now=...): epoch seconds, moved by hand."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def hasher() -> PasswordHasher:
    # Minimal argon2 cost: these tests check behaviour, not strength.
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def codec(clock: ManualClock) -> TokenCodec:
    return TokenCodec(SECRET, ttl=3600, leeway=30, now=clock)
