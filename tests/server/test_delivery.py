"""Durable direct messages (docs/protocol.md, "Delivery semantics"): stored before
`stored: true`, replayed in order on connect, removed only after the recipient's ack,
expired after their TTL, kept as history.

Rules: a real server on port 0 and real clients on the real clock (SQLite answers from a
thread); a failing store is the in-memory test store with `save_messages` raising. The
crash test runs `python -m momentum serve` and kills it with SIGKILL.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import trio

from momentum.auth import TokenCodec
from momentum.storage import NewMessage, NewUser, SaveRefusal, StorageError, User, open_store
from tests._memory_store import MemoryStore

from ._live import (
    SECRET,
    Client,
    LiveServer,
    custom_server,
    open_live_server,
    settings_for,
    texts_until_quiet,
)

HOUR = timedelta(hours=1)


async def send_stored(sender: Client, to: User, count: int, *, start: int = 0) -> list[str]:
    """Send `count` direct messages and wait until each is acked as stored."""
    ids = []
    for i in range(start, start + count):
        await sender.send(message_type="text", data={"i": i}, to_user_id=str(to.id))
    for _ in range(count):
        ack = await sender.receive_type("ack")
        assert ack["data"]["stored"] is True, ack
        ids.append(ack["data"]["ref_id"])
    return ids


async def test_offline_messages_arrive_in_order_and_go_after_ack(server: LiveServer) -> None:
    with trio.fail_after(30):
        alice, bob = await server.create_user(), await server.create_user()
        async with server.connect(alice) as a:
            await send_stored(a, bob, 10)
        async with server.connect(bob) as b:
            got = await texts_until_quiet(b)
            assert [m["data"]["i"] for m in got] == list(range(10))
            assert {m["from_user_id"] for m in got} == {str(alice.id)}
            await b.send(message_type="ack", data={"ids": [m["id"] for m in got]})
            await b.roundtrip()
        await _wait_pending(server, bob, 0)
        async with server.connect(bob) as b:
            assert await texts_until_quiet(b) == []


async def test_unacknowledged_messages_come_again_on_the_next_connection(
    server: LiveServer,
) -> None:
    with trio.fail_after(30):
        alice, bob = await server.create_user(), await server.create_user()
        async with server.connect(bob) as b, server.connect(alice) as a:
            await send_stored(a, bob, 5)
            live = [(await b.receive_type("text"))["data"]["i"] for _ in range(5)]
            assert live == list(range(5))
            await b.send(message_type="ack", data={"ids": []})  # a bad ack changes nothing
            assert (await b.receive_type("error"))["data"]["code"] == "invalid_envelope"
        async with server.connect(bob) as b:
            got = await texts_until_quiet(b)
            assert [m["data"]["i"] for m in got] == list(range(5))
            await b.send(message_type="ack", data={"ids": [m["id"] for m in got[:3]]})
            await b.roundtrip()
        await _wait_pending(server, bob, 2)
        async with server.connect(bob) as b:
            assert [m["data"]["i"] for m in await texts_until_quiet(b)] == [3, 4]


async def test_switch_over_from_stored_to_live_loses_and_reorders_nothing(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with custom_server(tmp_path, rate_limit=0.0) as server:
            alice, bob = await server.create_user(), await server.create_user()
            async with server.connect(alice) as a:
                await send_stored(a, bob, 300)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(partial(send_stored, a, bob, 100, start=300))
                    async with server.connect(bob, message_queue_size=1000) as b:
                        seen: list[int] = []
                        while len(set(seen)) < 400:
                            seen.append((await b.receive_type("text"))["data"]["i"])
            first = {i: n for n, i in reversed(list(enumerate(seen)))}
            in_order = sorted(first, key=first.__getitem__)
            assert in_order == list(range(400)), "each message first appears in sending order"


async def test_history_pages_newest_first(server: LiveServer) -> None:
    with trio.fail_after(30):
        alice, bob, carol = [await server.create_user() for _ in range(3)]
        async with server.connect(alice) as a, server.connect(bob) as b:
            await send_stored(a, bob, 4)
            await send_stored(b, alice, 3, start=100)
            await send_stored(a, carol, 1, start=200)
        headers = {"Authorization": f"Bearer {server.token(alice)}"}
        async with server.http() as http:
            first = (await http.get(f"/ws/history?with={bob.id}&limit=5", headers=headers)).json()
            page = [m["data"]["i"] for m in first["messages"]]
            assert page == [102, 101, 100, 3, 2]
            assert first["next"] is not None
            rest = await http.get(
                "/ws/history",
                params={"with": str(bob.id), "limit": 5, **first["next"]},
                headers=headers,
            )
            assert [m["data"]["i"] for m in rest.json()["messages"]] == [1, 0]
            assert rest.json()["next"] is None
            bad = await http.get("/ws/history?with=nope", headers=headers)
            assert bad.status_code == 400
            by_key = await http.get(f"/ws/history?with={bob.id}", headers={"X-API-Key": "x"})
            assert by_key.status_code == 401


async def test_expired_messages_are_not_delivered_and_are_purged(tmp_path: Path) -> None:
    with trio.fail_after(30):
        # Expiry is judged by the wall clock (it is stored with the message): a TTL of a
        # millisecond has passed by the time the recipient connects.
        async with custom_server(tmp_path, message_ttl=0.001, cleanup_interval=3600) as server:
            alice, bob = await server.create_user(), await server.create_user()
            async with server.connect(alice) as a:
                await send_stored(a, bob, 3)
            async with server.connect(bob) as b:
                assert await texts_until_quiet(b) == []
            admin = await server.create_user(admin=True)
            async with server.http() as http:
                reply = await http.post(
                    "/ws/cleanup", headers={"Authorization": f"Bearer {server.token(admin)}"}
                )
            assert reply.status_code == 200
            assert await server.store.conversation(alice.id, bob.id) == []


class FailingStore(MemoryStore):
    async def save_messages(self, messages: Any, **limits: Any) -> dict[NewMessage, SaveRefusal]:
        await trio.lowlevel.checkpoint()
        raise StorageError("disk on fire")


async def test_a_failed_store_says_not_stored_and_still_delivers_live() -> None:
    settings = settings_for("sqlite:///:memory:")
    with trio.fail_after(20):
        async with open_live_server(settings, store=FailingStore()) as server:
            alice, bob = await server.create_user(), await server.create_user()
            async with server.connect(alice) as a, server.connect(bob) as b:
                await a.send(message_type="text", data={"i": 1}, to_user_id=str(bob.id))
                error = await a.receive_type("error")
                assert error["data"]["code"] == "storage_unavailable"
                ack = await a.receive_type("ack")
                assert (ack["data"]["delivered"], ack["data"]["stored"]) == (1, False)
                assert (await b.receive_type("text"))["data"] == {"i": 1}


async def _wait_pending(server: LiveServer, user: User, count: int) -> None:
    while await server.store.count_pending(user.id) != count:  # noqa: ASYNC110 - store poll
        await trio.sleep(0.02)


@asynccontextmanager
async def _serve_process(database: str, cwd: Path) -> AsyncIterator[tuple[trio.Process, int]]:
    env = {**os.environ, "JWT_SECRET": SECRET, "DATABASE_URL": database, "WS_RATE_LIMIT": "0"}
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "momentum", "serve", "--bind", "127.0.0.1:0"],
        env=env,
        cwd=cwd,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    log = ""
    while (found := re.search(r"ws://…:(\d+)/ws", log)) is None:
        chunk = await process.stderr.receive_some()
        assert chunk, f"server exited early: {log}"
        log += chunk.decode()
    try:
        yield process, int(found.group(1))
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def test_messages_survive_kill_9(tmp_path: Path) -> None:
    from trio_websocket import open_websocket_url

    database = f"sqlite:///{tmp_path}/m.db"
    async with open_store(database) as store:
        alice, bob = await store.create_users(
            [NewUser("a@example.test", "alice", "!"), NewUser("b@example.test", "bob", "!")]
        )
    codec = TokenCodec(SECRET)

    def url(port: int, user: User) -> str:
        token = codec.issue(user.id, user.email, user.username).token
        return f"ws://127.0.0.1:{port}/ws?token={token}"

    with trio.fail_after(60):
        async with _serve_process(database, tmp_path) as (process, port):
            async with open_websocket_url(url(port, alice)) as ws:
                await send_stored(Client(ws, alice), bob, 50)
            process.send_signal(signal.SIGKILL)
            assert await process.wait() == -signal.SIGKILL
        async with _serve_process(database, tmp_path) as (process, port):
            async with open_websocket_url(url(port, bob), message_queue_size=100) as ws:
                b = Client(ws, bob)
                got = await texts_until_quiet(b)
                assert [m["data"]["i"] for m in got] == list(range(50))
                await b.send(message_type="ack", data={"ids": [m["id"] for m in got]})
                await b.roundtrip()
            async with open_store(database) as store:  # WAL: a second reader is fine
                while await store.count_pending(bob.id):  # noqa: ASYNC110 - acks are batched
                    await trio.sleep(0.02)
            async with open_websocket_url(url(port, bob)) as ws:
                assert await texts_until_quiet(Client(ws, bob)) == []


class GatedStore(MemoryStore):
    """Commits wait for the test to open the gate: a connection arrives while its messages
    are being written."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = trio.Event()

    async def save_messages(self, messages: Any, **limits: Any) -> dict[NewMessage, SaveRefusal]:
        await self.gate.wait()
        return await super().save_messages(messages, **limits)


async def test_a_message_being_stored_when_its_recipient_connects_is_not_missed() -> None:
    settings = settings_for("sqlite:///:memory:")
    with trio.fail_after(20):
        store = GatedStore()
        async with open_live_server(settings, store=store) as server:
            alice, bob = await server.create_user(), await server.create_user()
            async with server.connect(alice) as a:
                await a.send(message_type="text", data={"i": 7}, to_user_id=str(bob.id))
                await a.roundtrip()  # routed (bob offline), the commit still in flight
                async with server.connect(bob) as b:
                    store.gate.set()  # bob joined: now the commit may finish
                    assert [m["data"]["i"] for m in await texts_until_quiet(b)] == [7]
                assert (await a.receive_type("ack"))["data"]["stored"] is True


class CommitDuringLookupStore(MemoryStore):
    """Counts replay queries; once `target` is set, the handshake's user lookup commits a
    message to that user right after reading it (another node's commit landing between a
    handshake's lookup and its join)."""

    def __init__(self) -> None:
        super().__init__()
        self.target: User | None = None
        self.replay_queries = 0

    async def get_users(self, user_ids: Any) -> Any:
        users = await super().get_users(user_ids)
        if (target := self.target) is not None and target.id in users:
            self.target = None
            now = datetime.now(UTC)
            envelope = orjson.dumps(
                {"id": str(uuid.uuid4()), "message_type": "text", "data": {"i": 1}}
            )
            message = NewMessage(
                orjson.loads(envelope)["id"], None, target.id, "text", envelope, now, now + HOUR
            )
            assert await self.save_messages([message]) == {}
        return users

    async def pending_messages(self, recipient_id: uuid.UUID, **page: Any) -> Any:
        self.replay_queries += 1
        return await super().pending_messages(recipient_id, **page)


async def test_nothing_pending_costs_no_replay_query_and_a_late_commit_is_not_missed() -> None:
    # A count of pending messages read with the user at the lookup would say 0 here, and
    # the message committed right after it would wait for bob's next connection.
    with trio.fail_after(20):
        store = CommitDuringLookupStore()
        async with open_live_server(settings_for("sqlite:///:memory:"), store=store) as server:
            bob = await server.create_user()
            async with server.connect(bob) as b:
                assert await texts_until_quiet(b) == []
            assert store.replay_queries == 0
            store.target = bob
            async with server.connect(bob) as b:
                assert [m["data"]["i"] for m in await texts_until_quiet(b)] == [1]
            assert store.replay_queries == 1
