"""Upgrading a database that an older Momentum created.

Rules: each test runs against each `store_url` param (sqlite always; postgresql
when MOMENTUM_TEST_POSTGRES_URL is set; not the memory store, which has no schema) on
the real clock, under `trio.fail_after`. A version-1 database is made the way an upgrade finds it:
open a current store, then undo migrations 0004, 0003 and 0002 with plain SQL (drop their
tables and column, forget their versions), leaving exactly what 0001 created.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import trio

from momentum.storage import NewMessage, NewUser, open_store

from .conftest import pg_fetchval

TIMEOUT = 20
UNDO_0002 = (
    "DROP TABLE refresh_tokens",
    "DROP TABLE revoked_tokens",
    "DROP TABLE revoked_sessions",
    "ALTER TABLE users DROP COLUMN tokens_valid_after",
    "DROP TABLE messages",
    "DELETE FROM schema_migrations WHERE version >= 2",
)


async def downgrade_to_version_1(backend: str, store_url: str) -> None:
    if backend == "sqlite":
        conn = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            for statement in UNDO_0002:
                conn.execute(statement)
        finally:
            conn.close()
    else:
        for statement in UNDO_0002:
            await pg_fetchval(store_url, statement)


@pytest.mark.database_only("no schema to migrate")
async def test_later_migrations_upgrade_a_version_1_database(backend: str, store_url: str) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_store(store_url) as store:
            user = await store.create_user(NewUser("a@example.com", "a", "h"))
        await downgrade_to_version_1(backend, store_url)

        async with open_store(store_url) as upgraded:
            assert upgraded.migrations_applied == (2, 3, 4)
            assert await upgraded.schema_version() == 4
            assert await upgraded.get_user(user.id) == user
            now = datetime.now(UTC)
            msg_id = str(uuid.uuid4())
            new = NewMessage(msg_id, None, user.id, "text", b"{}", now, now + timedelta(hours=1))
            await upgraded.save_messages([new])

        async with open_store(store_url) as again:
            assert again.migrations_applied == ()
            assert await again.schema_version() == 4
            assert [m.id for m in await again.pending_messages(user.id)] == [msg_id]
