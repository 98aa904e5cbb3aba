"""Fixtures for the storage contract tests.

`store_url` is parametrized over the backends: `sqlite` (a file in tmp_path) and
`postgresql`, which is skipped unless MOMENTUM_TEST_POSTGRES_URL is set. Each
PostgreSQL test gets its own schema (via `search_path`) and its own
`application_name`, so it can neither see nor disturb anyone else using the
same database; the schema is dropped afterwards.
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

POSTGRES_ENV = "MOMENTUM_TEST_POSTGRES_URL"


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
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test; a sync fixture so that the skip reason is reported."""
    if request.param == "postgresql" and not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"PostgreSQL backend: set {POSTGRES_ENV} to run")
    return str(request.param)


@pytest.fixture
async def store_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'momentum.db'}"
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


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    async with open_store(store_url) as opened:
        yield opened
