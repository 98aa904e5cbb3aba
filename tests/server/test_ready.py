"""`GET /ready` on a real server: ready while the store answers, not ready once it fails.

Rules: a real server on port 0 with a real SQLite file, a real HTTP client, the real clock,
an outer `trio.fail_after`. The store's failure is injected by replacing its `check`;
draining, by an app made over the live server's services with `is_ready` saying no.
"""

from __future__ import annotations

import dataclasses

import pytest
import trio

from momentum.http import create_app
from momentum.storage import StorageError

from ._live import LiveServer


async def test_ready_while_the_store_answers(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.http() as http:
            reply = await http.get("/ready")
        assert reply.status_code == 200
        assert reply.json() == {"status": "ready"}


async def test_not_ready_when_the_store_fails(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken() -> None:
        raise StorageError("injected: the database is gone")

    monkeypatch.setattr(server.store, "check", broken)
    with trio.fail_after(10):
        async with server.http() as http:
            reply = await http.get("/ready")
            assert reply.status_code == 503
            assert reply.json() == {"status": "not_ready", "problems": ["store unreachable"]}
            monkeypatch.undo()
            assert (await http.get("/ready")).status_code == 200


async def test_not_ready_while_draining(server: LiveServer) -> None:
    draining = dataclasses.replace(server.running.services, is_ready=lambda: False)
    app = create_app(draining)  # the same routes, over a server that has begun to drain
    with trio.fail_after(10):
        reply = await app.test_client().get("/ready")
        assert reply.status_code == 503
        assert await reply.get_json() == {"status": "not_ready", "problems": ["draining"]}
