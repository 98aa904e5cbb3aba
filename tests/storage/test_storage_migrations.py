"""Upgrading a database that an older Momentum created.

Rules: each test runs against each `store_url` param (sqlite always; postgresql
when MOMENTUM_TEST_POSTGRES_URL is set; not the memory store, which has no schema) on
the real clock, under `trio.fail_after`. An older database is made the way an upgrade finds
it: open a current store, then undo the later migrations with plain SQL (drop their tables,
forget their versions), leaving exactly what the earlier ones created.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import trio

from momentum.storage import NewMessage, NewUser, RecipientLimits, SaveRefusal, open_store

from .conftest import pg_fetchval
from .test_storage_contract import MIGRATIONS

TIMEOUT = 20
HOUR = timedelta(hours=1)
TRIGGERS = ("pending_totals_insert", "pending_totals_ack", "pending_totals_delete")
UNDO_0005 = {
    "sqlite": tuple(f"DROP TRIGGER {name}" for name in TRIGGERS),
    "postgresql": tuple(f"DROP TRIGGER {name} ON messages" for name in TRIGGERS),
}
FORGET_0005 = ("DROP TABLE pending_totals", "DELETE FROM schema_migrations WHERE version = 5")
UNDO_0002 = (
    "DROP TABLE refresh_tokens",
    "DROP TABLE revoked_tokens",
    "DROP TABLE revoked_sessions",
    "ALTER TABLE users DROP COLUMN tokens_valid_after",
    "DROP TABLE messages",
    "DELETE FROM schema_migrations WHERE version BETWEEN 2 AND 5",  # 0007 and 0008 (rooms) stay
)


async def undo(backend: str, store_url: str, statements: tuple[str, ...]) -> None:
    if backend == "sqlite":
        conn = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            for statement in statements:
                conn.execute(statement)
        finally:
            conn.close()
    else:
        for statement in statements:
            await pg_fetchval(store_url, statement)


async def downgrade_to_version_1(backend: str, store_url: str) -> None:
    await undo(backend, store_url, UNDO_0005[backend] + FORGET_0005 + UNDO_0002)


@pytest.mark.database_only("no schema to migrate")
async def test_later_migrations_upgrade_a_version_1_database(backend: str, store_url: str) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_store(store_url) as store:
            user = await store.create_user(NewUser("a@example.com", "a", "h"))
        await downgrade_to_version_1(backend, store_url)

        async with open_store(store_url) as upgraded:
            assert upgraded.migrations_applied == (2, 3, 4, 5)
            assert await upgraded.schema_version() == MIGRATIONS[-1]
            assert await upgraded.get_user(user.id) == user
            now = datetime.now(UTC)
            msg_id = str(uuid.uuid4())
            new = NewMessage(msg_id, None, user.id, "text", b"{}", now, now + timedelta(hours=1))
            await upgraded.save_messages([new])

        async with open_store(store_url) as again:
            assert again.migrations_applied == ()
            assert await again.schema_version() == MIGRATIONS[-1]
            assert [m.id for m in await again.pending_messages(user.id)] == [msg_id]


@pytest.mark.database_only("no schema to migrate")
async def test_0005_counts_the_messages_already_pending(backend: str, store_url: str) -> None:
    with trio.fail_after(TIMEOUT):
        now = datetime.now(UTC)

        def to(user: uuid.UUID, body: bytes = b"{}") -> NewMessage:
            return NewMessage(str(uuid.uuid4()), None, user, "text", body, now, now + HOUR)

        async with open_store(store_url) as store:
            alice = await store.create_user(NewUser("a@example.com", "a", "h"))
            acked, pending = to(alice.id), to(alice.id, b"x" * 100)
            await store.save_messages([acked, pending])
            await store.ack_messages({alice.id: [acked.id]})
        await undo(backend, store_url, UNDO_0005[backend] + FORGET_0005)

        async with open_store(store_url) as upgraded:
            assert upgraded.migrations_applied == (5,)
            limits = RecipientLimits(max_pending_count=2, max_pending_bytes=10**6)
            room, over = to(alice.id), to(alice.id)
            refused = await upgraded.save_messages([room, over], limits=limits)
            assert refused == {over: SaveRefusal.RECIPIENT_QUOTA}
            bytes_limit = RecipientLimits(max_pending_count=10, max_pending_bytes=103)
            extra = to(alice.id, b"xx")
            refused = await upgraded.save_messages([extra], limits=bytes_limit)
            assert refused == {extra: SaveRefusal.RECIPIENT_QUOTA}
