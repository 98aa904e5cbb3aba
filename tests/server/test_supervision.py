"""Supervision that supervises: each actor crashed on purpose, and what survives.

- writer: a bug in the store's `save_messages` -> that batch's senders hear
  `storage_unavailable` and `stored: false`; it is restarted; the next message is stored.
- lookup: a bug in the store's `get_users` -> that handshake is refused 503; it is
  restarted; the next handshake connects; open connections are untouched.
- janitor: a bug in the store's `purge_messages` -> the cleanup asked meanwhile answers 503
  at once; it is restarted; the next cleanup answers; open connections are untouched.
- hub: its loop fails (`Hub.flush` raises) -> every client is closed 1012; they reconnect
  to a fresh hub, and messages flow again.
- an HTTP request: a bug in the store's `conversation` -> 500 `internal_error` (never
  `bad_request`: the client did nothing wrong); the next request is answered.
- heartbeat: it fails on a `Watch` -> it is restarted with the connections (rest-for-one:
  none may stay open unwatched), every client is closed 1001 and reconnects; the hub stays.

Rules: a real server on port 0 with the in-memory store (so that a crash can be injected
into one call), real clients, real clock; each test under `fail_after`. A crash is a bug
(`RuntimeError`), not a `StorageError`: failures the store reports are not crashes. Restart
counts come from the supervisors (`Services.restarts`, `momentum_actor_restarts_total`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import trio

from momentum.connection._heartbeat import Beats, HeartbeatMsg
from momentum.hub import Hub
from momentum.storage import NewMessage, RecipientLimits, SaveRefusal, User
from tests._memory_store import MemoryStore

from ._live import LiveServer, Refusal, expect_refused, open_live_server, settings_for


class FaultyStore(MemoryStore):
    """Raises a bug (RuntimeError) from the next call of the named method, once."""

    def __init__(self) -> None:
        super().__init__()
        self.armed: set[str] = set()

    def arm(self, method: str) -> None:
        self.armed.add(method)

    def _fire(self, method: str) -> None:
        if method in self.armed:
            self.armed.discard(method)
            raise RuntimeError(f"injected bug in {method}")

    async def save_messages(
        self, messages: Sequence[NewMessage], *, limits: RecipientLimits | None = None
    ) -> dict[NewMessage, SaveRefusal]:
        self._fire("save_messages")
        return await super().save_messages(messages, limits=limits)

    async def get_users(self, user_ids: Any) -> Any:
        self._fire("get_users")
        return await super().get_users(user_ids)

    async def purge_messages(self, **kwargs: Any) -> int:
        self._fire("purge_messages")
        return await super().purge_messages(**kwargs)

    async def conversation(self, *args: Any, **kwargs: Any) -> Any:
        self._fire("conversation")
        return await super().conversation(*args, **kwargs)


@pytest.fixture
async def faulty() -> Any:
    store = FaultyStore()
    async with open_live_server(settings_for("sqlite:///:memory:"), store=store) as server:
        yield server, store


def restarts(server: LiveServer) -> dict[str, int]:
    return dict(server.running.services.restarts())


async def test_a_writer_crash_fails_its_batch_honestly_and_the_writer_comes_back(
    faulty: tuple[LiveServer, FaultyStore],
) -> None:
    server, store = faulty
    with trio.fail_after(20):
        alice, bob = await server.create_user(), await server.create_user()
        async with server.connect(alice) as a:
            store.arm("save_messages")
            await a.send(message_type="text", data={"n": 1}, to_user_id=str(bob.id))
            error = await a.receive_type("error")
            assert error["data"]["code"] == "storage_unavailable"
            ack = await a.receive_type("ack")
            assert ack["data"]["stored"] is False
            await a.send(message_type="text", data={"n": 2}, to_user_id=str(bob.id))
            ack = await a.receive_type("ack")
            assert ack["data"]["stored"] is True
            await a.roundtrip()  # the connection was never touched
        assert restarts(server)["writer"] == 1
        assert [m.envelope.count(b'"n":2') for m in await store.pending_messages(bob.id)] == [1]


async def test_a_lookup_crash_refuses_one_handshake_and_the_lookup_comes_back(
    faulty: tuple[LiveServer, FaultyStore],
) -> None:
    server, store = faulty
    with trio.fail_after(20):
        alice, bob = await server.create_user(), await server.create_user()
        async with server.connect(alice) as a:
            store.arm("get_users")
            refusal: Refusal = await expect_refused(server.ws_url(server.token(bob)))
            assert refusal.status == 503
            async with server.connect(bob) as b:
                await b.roundtrip()
            await a.roundtrip()
        assert restarts(server)["lookup"] == 1


async def test_a_janitor_crash_is_restarted_and_touches_no_connection(
    faulty: tuple[LiveServer, FaultyStore],
) -> None:
    server, store = faulty
    with trio.fail_after(20):
        admin: User = await server.create_user(admin=True)
        headers = {"Authorization": f"Bearer {server.token(admin)}"}
        async with server.connect(admin) as a, server.http() as http:
            store.arm("purge_messages")
            crashed = await http.post("/ws/cleanup", headers=headers)
            assert crashed.status_code == 503  # its answer died with it
            again = await http.post("/ws/cleanup", headers=headers)
            assert again.status_code == 200, again.text
            await a.roundtrip()
        assert restarts(server)["janitor"] == 1


async def test_a_hub_crash_closes_clients_1012_and_they_reconnect_to_a_fresh_hub(
    faulty: tuple[LiveServer, FaultyStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = faulty
    original = Hub.flush
    armed = True

    def flush_once_broken(hub: Hub) -> None:
        nonlocal armed
        if armed:
            armed = False
            raise RuntimeError("injected hub crash")
        original(hub)

    with trio.fail_after(20):
        alice, bob = await server.create_user(), await server.create_user()
        async with server.connect(alice) as a, server.connect(bob) as b:
            await server.wait_connections(2)
            monkeypatch.setattr(Hub, "flush", flush_once_broken)
            await a.send(message_type="text", data={"n": 1})
            assert await a.wait_closed() == 1012
            assert await b.wait_closed() == 1012
        async with server.connect(alice) as a, server.connect(bob) as b:
            await server.wait_connections(2)
            await a.send(message_type="text", data={"n": 2}, to_user_id=str(bob.id))
            got = await b.receive_type("text")
            assert got["data"] == {"n": 2}
        counts = restarts(server)
        assert counts["hub"] == 1 and counts["connections"] == 1
        for actor in ("writer", "lookup", "janitor"):
            assert counts[actor] == 0
        async with server.http() as http:
            metrics = (await http.get("/metrics")).text
        assert 'momentum_actor_restarts_total{actor="hub"} 1.0' in metrics


async def test_a_bug_behind_an_http_request_answers_500_internal_error(
    faulty: tuple[LiveServer, FaultyStore],
) -> None:
    server, store = faulty
    with trio.fail_after(20):
        alice, bob = await server.create_user(), await server.create_user()
        store.arm("conversation")
        async with server.http() as http:
            reply = await http.get(
                "/ws/history",
                params={"with": str(bob.id)},
                headers={"Authorization": f"Bearer {server.token(alice)}"},
            )
            assert reply.status_code == 500, reply.text
            assert reply.json() == {
                "error": {"code": "internal_error", "message": "internal server error"}
            }
            again = await http.get(
                "/ws/history",
                params={"with": str(bob.id)},
                headers={"Authorization": f"Bearer {server.token(alice)}"},
            )
            assert again.status_code == 200, again.text


async def test_a_heartbeat_crash_restarts_the_connections_and_not_the_hub(
    faulty: tuple[LiveServer, FaultyStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = faulty
    original = Beats.handle
    armed = False

    def handle_once_broken(beats: Beats, msg: HeartbeatMsg, now: float) -> None:
        nonlocal armed
        if armed:
            armed = False
            raise RuntimeError("injected heartbeat crash")
        original(beats, msg, now)

    monkeypatch.setattr(Beats, "handle", handle_once_broken)
    with trio.fail_after(20):
        alice, bob = await server.create_user(), await server.create_user()
        async with server.connect(alice) as a:
            await server.wait_connections(1)
            armed = True
            async with server.connect(bob) as b:
                assert await a.wait_closed() == 1001
                await b.wait_closed()
        async with server.connect(alice) as a, server.connect(bob) as b:
            await server.wait_connections(2)
            await a.send(message_type="text", data={"n": 1}, to_user_id=str(bob.id))
            got = await b.receive_type("text")
            assert got["data"] == {"n": 1}
        counts = restarts(server)
        assert counts["heartbeat"] == 1 and counts["connections"] == 1
        for actor in ("hub", "writer", "lookup", "janitor"):
            assert counts[actor] == 0
