"""JSON log lines carry the connection id or the request id they are about, and every HTTP
answer carries its request id (`X-Request-Id`).

Rules: a real server on port 0 with a real SQLite file, a real HTTP client and a real
trio-websocket client; the server's log lines captured by a handler made like the one
`configure_logging` installs (`log_handler`), added to the `momentum` logger for the test
only; the real clock; an outer `trio.fail_after`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import trio

from momentum.observability._logging import log_handler

from ._dashboard import create_with_password, signed_in
from ._live import LiveServer


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = log_handler("json", stream)
    logger = logging.getLogger("momentum")
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.level = level


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


async def test_every_answer_has_a_request_id(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.http() as http:
            fresh = await http.get("/health")
            again = await http.get("/health")
            kept = await http.get("/nowhere", headers={"X-Request-Id": "lb-1234.a"})
            odd = await http.get("/health", headers={"X-Request-Id": "x" * 65 + "<script>"})
    assert len(fresh.headers["x-request-id"]) == 32
    assert fresh.headers["x-request-id"] != again.headers["x-request-id"]
    assert kept.status_code == 404 and kept.headers["x-request-id"] == "lb-1234.a"
    assert len(odd.headers["x-request-id"]) == 32  # not a plausible id: a fresh one


async def test_json_lines_name_their_request_and_connection(
    server: LiveServer, json_lines: io.StringIO
) -> None:
    with trio.fail_after(20):
        admin = await create_with_password(server, admin=True)
        alice = await server.create_user()
        async with signed_in(server, admin) as http, server.connect(alice) as client:
            reply = await http.post(
                "/dashboard/api/users/disconnect", json={"username": alice.username}
            )
            assert await client.wait_closed() == 4004
        await server.wait_connections(0)
    logged = lines(json_lines)
    (action,) = [e for e in logged if f"disconnected by {admin.username}" in e["message"]]
    assert action["request_id"] == reply.headers["x-request-id"]
    assert "connection_id" not in action
    (closed,) = [e for e in logged if "connection closed by the server" in e["message"]]
    assert closed["message"].endswith("4004 disconnected by an operator")
    assert isinstance(closed["connection_id"], int) and "request_id" not in closed
    assert closed["level"] == "info" and closed["logger"] == "momentum.connection"
