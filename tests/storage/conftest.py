"""Fixtures for the storage contract tests.

`store_url` is parametrized over the backends: `sqlite` (a file in tmp_path),
`postgresql`, which is skipped unless MOMENTUM_TEST_POSTGRES_URL is set, and
`memory`, the in-memory store that the tests on the autojump clock use, so that it keeps
the same contract. Each PostgreSQL test gets its own schema (via `search_path`) and its own
`application_name`, so it can neither see nor disturb anyone else using the
same database; the schema is dropped afterwards.

A test that needs a real database (it reopens the store, or reaches into its SQL) is marked
`@pytest.mark.database_only("why")` and skipped, with that reason, for the memory store.
Its `store_url` is no URL that `open_store` accepts, so a test that opens it without the
mark fails instead of passing unnoticed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest
import trio_asyncio

from momentum.storage import Store, open_store
from tests._memory_store import open_memory_store

POSTGRES_ENV = "MOMENTUM_TEST_POSTGRES_URL"
#: The `store_url` of the memory store: only `open_test_store` opens it.
MEMORY_URL = "memory:"


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def pg_fetchval(url: str, sql: str, *args: object) -> Any:
    """Run one query on a fresh connection (needs a running trio-asyncio loop)."""

    async def fetchval() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    return await trio_asyncio.aio_as_trio(fetchval)()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "memory"],
)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test; a sync fixture so that the skip reason is reported."""
    if request.param == "postgresql" and not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"PostgreSQL backend: set {POSTGRES_ENV} to run")
    database_only = request.node.get_closest_marker("database_only")
    if request.param == "memory" and database_only is not None:
        pytest.skip(f"memory store: {database_only.args[0]}")
    return str(request.param)


@pytest.fixture
async def store_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'momentum.db'}"
        return
    if backend == "memory":
        yield MEMORY_URL
        return
    async with open_pg_schema(os.environ[POSTGRES_ENV], "test") as url:
        yield url


@asynccontextmanager
async def open_pg_schema(base: str, prefix: str) -> AsyncIterator[str]:
    """A URL whose connections see only a fresh schema of their own, dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    async with trio_asyncio.open_loop():
        await pg_fetchval(base, f'CREATE SCHEMA "{schema}"')
        try:
            yield with_query(base, search_path=schema, application_name=schema)
        finally:
            await pg_fetchval(base, f'DROP SCHEMA "{schema}" CASCADE')


@asynccontextmanager
async def open_test_store(url: str) -> AsyncIterator[Store]:
    """`open_store`, which also opens the memory store at `MEMORY_URL`."""
    if url == MEMORY_URL:
        async with open_memory_store() as memory:
            yield memory
    else:
        async with open_store(url) as opened:
            yield opened


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    async with open_test_store(store_url) as opened:
        yield opened
