"""Filling the disk through direct messages, and what each attempt gets now.

The attacks reproduced: a user (or the backend) sends direct messages to ids no user has —
they used to be stored and kept for `MESSAGE_TTL`; one sender writes to one recipient who
never reads, without end. Now an unknown recipient gets `unknown_recipient` (HTTP 404) and a
full recipient `recipient_quota` (HTTP 507), with `stored: false`, and nothing is stored.

Rules: a real server on port 0 with a real SQLite file, real clients, the real clock; every
test under `trio.fail_after`.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import trio

from ._live import API_KEY, Client, LiveServer, custom_server


async def send_direct(client: Client, to: uuid.UUID, text: str = "hi") -> list[dict[str, Any]]:
    """Send one direct message; what the sender hears back: an `error` or not, then the ack."""
    await client.send(message_type="text", to_user_id=str(to), data={"content": text})
    heard = []
    while True:
        message = await client.receive_type("error", "ack")
        heard.append(message)
        if message["message_type"] == "ack":
            return heard


async def test_a_message_to_no_user_is_refused_and_not_stored(server: LiveServer) -> None:
    with trio.fail_after(20):
        alice = await server.create_user()
        nobody = uuid.uuid4()
        async with server.connect(alice) as a:
            error, ack = await send_direct(a, nobody)
        assert error["data"]["code"] == "unknown_recipient"
        assert error["data"]["ref_id"] == ack["data"]["ref_id"]
        assert ack["data"]["stored"] is False
        async with server.http() as http:
            for headers in (
                {"X-API-Key": API_KEY},
                {"Authorization": f"Bearer {server.token(alice)}"},
            ):
                reply = await http.post(
                    "/ws/send", headers=headers, json={"to_user_id": str(nobody), "data": {}}
                )
                assert reply.status_code == 404, reply.text
                assert reply.json()["error"]["code"] == "unknown_recipient"
        assert await server.store.count_pending() == 0


async def test_a_recipient_full_of_pending_messages_refuses_more_until_it_reads(
    tmp_path: Path,
) -> None:
    with trio.fail_after(30):
        async with custom_server(tmp_path, pending_max_count=3) as server:
            alice, bob = await server.create_user(), await server.create_user()
            async with server.connect(alice) as a:
                for n in range(3):
                    (ack,) = await send_direct(a, bob.id, f"m{n}")
                    assert ack["data"]["stored"] is True
                error, ack = await send_direct(a, bob.id, "one too many")
                assert error["data"]["code"] == "recipient_quota"
                assert ack["data"]["stored"] is False
                async with server.http() as http:
                    reply = await http.post(
                        "/ws/send",
                        headers={"X-API-Key": API_KEY},
                        json={"to_user_id": str(bob.id), "data": {"content": "system"}},
                    )
                assert reply.status_code == 507, reply.text
                assert reply.json()["error"]["code"] == "recipient_quota"
                assert await server.store.count_pending(bob.id) == 3
                async with server.connect(bob) as b:  # bob reads and acknowledges one
                    first = await b.receive_type("text")
                    await b.send(message_type="ack", data={"ids": [first["id"]]})
                    await b.roundtrip()
                    while await server.store.count_pending(bob.id) != 2:  # noqa: ASYNC110
                        await trio.sleep(0.01)
                (ack,) = await send_direct(a, bob.id, "room again")
                assert ack["data"]["stored"] is True
