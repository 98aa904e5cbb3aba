"""Backend-specific behaviour: URL handling, failures at the edge, reconnection.

Rules: real SQLite files and (when MOMENTUM_TEST_POSTGRES_URL is set) a real
PostgreSQL on the real clock; each body runs under `trio.fail_after`. The
reconnect test terminates only its own pool's backends (matched by the
per-test application_name), never other users of the database.
"""

from __future__ import annotations

import sqlite3
import sys
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import trio
import trio_asyncio

from momentum.storage import NewUser, StorageError, UserExists, open_store

from .conftest import pg_fetchval

TIMEOUT = 20

# Saves the messages named on its command line, then dies without closing the
# store (no rollback, no WAL checkpoint): what a crash or kill -9 leaves.
_SAVE_THEN_CRASH = """
import os, sys, uuid
from datetime import UTC, datetime, timedelta
import trio
from momentum.storage import NewMessage, open_store

async def main():
    url, recipient, *ids = sys.argv[1:]
    now = datetime.now(UTC)
    batch = [NewMessage(i, None, uuid.UUID(recipient), "text", i.encode(), now,
                        now + timedelta(hours=1)) for i in ids]
    async with open_store(url) as store:
        await store.save_messages(batch)
        os._exit(0)

trio.run(main)
"""


@pytest.mark.parametrize("url", ["mysql://db/x", "momentum.db", "http://x", ""])
async def test_unknown_scheme_is_a_value_error(url: str) -> None:
    with trio.fail_after(TIMEOUT), pytest.raises(ValueError, match="unsupported database URL"):
        async with open_store(url):
            pass


async def test_sqlite_memory_and_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_store("sqlite:///:memory:") as store:
            await store.create_user(NewUser("a@example.com", "a", "h"))
            assert await store.count_users() == 1
        monkeypatch.chdir(tmp_path)
        async with open_store("sqlite:///rel.db") as store:
            assert store.backend == "sqlite"
        assert (tmp_path / "rel.db").exists()


async def test_sqlite_uses_wal(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        path = tmp_path / "wal.db"
        async with open_store(f"sqlite:///{path}"):
            pass
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        finally:
            conn.close()


async def test_sqlite_saved_messages_survive_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    recipient = uuid.uuid4()
    ids = [str(uuid.uuid4()) for _ in range(50)]
    with trio.fail_after(TIMEOUT):
        url = f"sqlite:///{path}"
        await trio.run_process([sys.executable, "-c", _SAVE_THEN_CRASH, url, str(recipient), *ids])
        wal = await trio.Path(f"{path}-wal").stat()
        assert wal.st_size > 0  # the commit is in the log only
        async with open_store(url) as store:
            pending = await store.pending_messages(recipient)
            assert [m.id for m in pending] == ids
            assert [m.envelope for m in pending] == [i.encode() for i in ids]


async def test_sqlite_unopenable_file_is_storage_error(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT), pytest.raises(StorageError):
        async with open_store(f"sqlite:///{tmp_path}/missing-dir/x.db"):
            pass


async def test_postgres_unreachable_is_storage_error() -> None:
    with trio.fail_after(TIMEOUT), pytest.raises(StorageError, match="cannot connect"):
        async with open_store("postgresql://postgres@127.0.0.1:1/test"):
            pass


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_postgres_recovers_after_backends_terminated(store_url: str) -> None:
    (app_name,) = parse_qs(urlsplit(store_url).query)["application_name"]
    terminate = (
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = $1"
        " AND pid <> pg_backend_pid()"
    )
    with trio.fail_after(TIMEOUT):
        async with open_store(store_url) as store:
            user = await store.create_user(NewUser("a@example.com", "a", "h"))
            # No pause after terminating: the next call may race the server's
            # FATAL message, which is exactly what the retry must absorb.
            for i in range(5):
                assert await pg_fetchval(store_url, terminate, app_name) >= 1
                await store.check()
                assert await store.get_user(user.id) == user
                assert await pg_fetchval(store_url, terminate, app_name) >= 1
                await store.create_user(NewUser(f"b{i}@example.com", f"b{i}", "h"))
            assert await store.count_users() == 6


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_postgres_owns_a_loop_when_none_runs(store_url: str) -> None:
    # open_store opens its own trio-asyncio loop here; exceptions crossing it
    # must come out as themselves, not wrapped in an ExceptionGroup.
    outer_loop = trio_asyncio.current_loop.set(None)
    try:
        with trio.fail_after(TIMEOUT):
            with pytest.raises(UserExists):
                async with open_store(store_url) as store:
                    await store.create_user(NewUser("a@example.com", "a", "h"))
                    await store.create_user(NewUser("a@example.com", "b", "h"))
            with pytest.raises(KeyError):
                async with open_store(store_url):
                    raise KeyError("from the body")
    finally:
        trio_asyncio.current_loop.reset(outer_loop)
