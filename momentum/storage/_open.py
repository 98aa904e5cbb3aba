"""`open_store`: pick the backend from a database URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ._protocol import Store


@asynccontextmanager
async def open_store(url: str) -> AsyncIterator[Store]:
    """Open the store at `url` and apply pending migrations; close it on exit.

    `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, `sqlite:///:memory:`,
    `postgresql://…` or `postgres://…`. Raises `ValueError` for any other scheme and
    `StorageError` when the database cannot be opened.
    """
    if url.startswith("sqlite:"):
        from ._sqlite import open_sqlite_store

        async with open_sqlite_store(url) as sqlite_store:
            yield sqlite_store
    elif url.startswith(("postgresql://", "postgres://")):
        # Imported lazily: the embedded default must not pay for asyncpg/asyncio.
        from ._postgres import open_postgres_store

        async with open_postgres_store(url) as pg_store:
            yield pg_store
    else:
        scheme = url.partition(":")[0] if ":" in url else url
        raise ValueError(
            f"unsupported database URL scheme {scheme!r}: use sqlite:///path or postgresql://…"
        )
