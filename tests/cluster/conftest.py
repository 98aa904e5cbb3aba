"""Fixtures for the cluster tests: a private redis-server and a PostgreSQL schema each.

They need both services: `MOMENTUM_TEST_REDIS_URL` (which switches on the Redis tests; the
cluster runs on a private redis-server of its own, so tests can kill it) and
`MOMENTUM_TEST_POSTGRES_URL` (the shared store); without them they skip with the reason.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests._private_redis import PrivateRedis
from tests.broker.conftest import REDIS_ENV, redis_server_binary, redis_url  # noqa: F401
from tests.storage.conftest import POSTGRES_ENV, open_pg_schema


@pytest.fixture
def postgres_base() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"PostgreSQL: set {POSTGRES_ENV} to run")
    return url


@pytest.fixture
async def database_url(postgres_base: str) -> AsyncIterator[str]:
    async with open_pg_schema(postgres_base, "cluster") as url:
        yield url


@pytest.fixture
async def private_redis(redis_server_binary: str, tmp_path: Path) -> AsyncIterator[PrivateRedis]:  # noqa: F811
    server = PrivateRedis(redis_server_binary, tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.kill()
