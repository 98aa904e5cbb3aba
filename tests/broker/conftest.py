"""Fixtures for the Redis tests.

`redis_url` is MOMENTUM_TEST_REDIS_URL; when it is unset every test that asks for it is
skipped with that reason shown (CI sets it, so there they run). `redis_server_binary` is the
`redis-server` program, for tests that run a private server of their own; they are switched
on by the same variable.
"""

from __future__ import annotations

import os
import shutil

import pytest

REDIS_ENV = "MOMENTUM_TEST_REDIS_URL"


@pytest.fixture
def redis_url() -> str:
    """The shared Redis; a sync fixture so that the skip reason is reported."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"Redis: set {REDIS_ENV} to run")
    return url


@pytest.fixture
def redis_server_binary(redis_url: str) -> str:
    """The `redis-server` program, for a private server on a port of the test's own."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("Redis restart: no redis-server program on PATH")
    return binary
