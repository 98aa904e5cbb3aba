"""Message ids under attack: nobody can claim another sender's id, and nobody is told
`stored: true` for a message that was not stored.

The attacks these reproduce (each failed before the fix):
- ids predicted from the server's PRNG and stored first through `POST /ws/send`, so later
  messages of other users vanished while their senders were told `stored: true`;
- a client-chosen id that another user had already used: first writer won, the second
  sender was told `stored: true`, and its message was missing for its recipient and history.

Rules: a real server on port 0 with a real SQLite file, real WebSocket and HTTP clients, the
real clock; every test under `trio.fail_after`.
"""

from __future__ import annotations

from typing import Any

import trio

from momentum.protocol import derive_message_id
from momentum.storage import User

from ._live import Client, LiveServer, texts_until_quiet

CLIENT_ID = "9b0e3f4c-1d2a-4b5c-8d6e-7f8091a2b3c4"


async def users(server: LiveServer, count: int) -> list[User]:
    return [await server.create_user() for _ in range(count)]


def bearer(server: LiveServer, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token(user)}"}


async def stored_ack(client: Client) -> dict[str, Any]:
    ack = await client.receive_type("ack")
    data: dict[str, Any] = ack["data"]
    return data


async def pending_texts(server: LiveServer, user: User) -> list[dict[str, Any]]:
    """What `user` receives on connecting (its stored messages), up to a round trip."""
    async with server.connect(user) as client:
        return await texts_until_quiet(client)


async def test_two_senders_with_the_same_id_both_get_their_message_stored(
    server: LiveServer,
) -> None:
    with trio.fail_after(20):
        alice, mallory, yan = await users(server, 3)
        async with server.connect(mallory) as m, server.connect(alice) as a:
            await m.send(
                id=CLIENT_ID, message_type="text", data={"c": "forged"}, to_user_id=str(yan.id)
            )
            forged = await stored_ack(m)
            await a.send(
                id=CLIENT_ID, message_type="text", data={"c": "real"}, to_user_id=str(yan.id)
            )
            real = await stored_ack(a)
        assert forged["stored"] is True and real["stored"] is True
        assert forged["ref_id"] == real["ref_id"] == CLIENT_ID
        assert real["message_id"] == derive_message_id(alice.id, CLIENT_ID)
        assert forged["message_id"] != real["message_id"]
        received = {
            m["id"]: (m["from_user_id"], m["data"]["c"]) for m in await pending_texts(server, yan)
        }
        assert received == {
            real["message_id"]: (str(alice.id), "real"),
            forged["message_id"]: (str(mallory.id), "forged"),
        }
        history = await server.store.conversation(alice.id, yan.id)
        assert [m.id for m in history] == [real["message_id"]]


async def test_an_id_seen_on_the_wire_cannot_be_reused_to_hide_its_message(
    server: LiveServer,
) -> None:
    # Mallory receives a message from Alice, learns its id, and stores her own message under
    # that id through the HTTP API: it becomes another message, and Alice's is untouched.
    with trio.fail_after(20):
        alice, mallory, carol = await users(server, 3)
        async with server.connect(alice) as a:
            await a.send(message_type="text", data={"c": "to mallory"}, to_user_id=str(mallory.id))
            seen = (await stored_ack(a))["message_id"]
        async with server.http() as http:
            reply = await http.post(
                "/ws/send",
                headers=bearer(server, mallory),
                json={"id": seen, "to_user_id": str(carol.id), "data": {"c": "claimed"}},
            )
        assert reply.status_code == 200, reply.text
        answer = reply.json()
        assert answer["stored"] is True and answer["ref_id"] == seen
        assert answer["id"] == derive_message_id(mallory.id, seen) != seen
        (original,) = await server.store.conversation(alice.id, mallory.id)
        assert original.id == seen and original.sender_id == alice.id
        (claimed,) = await pending_texts(server, carol)
        assert claimed["id"] == answer["id"] and claimed["data"] == {"c": "claimed"}


async def test_a_retry_with_the_same_id_is_stored_once(server: LiveServer) -> None:
    with trio.fail_after(20):
        alice, bob = await server.create_user(), await server.create_user()
        async with server.connect(alice) as a:
            for _ in range(2):
                await a.send(
                    id=CLIENT_ID, message_type="text", data={"c": "once"}, to_user_id=str(bob.id)
                )
            first, second = await stored_ack(a), await stored_ack(a)
        assert first["stored"] is True and second["stored"] is True
        assert first["message_id"] == second["message_id"]
        assert [m["data"] for m in await pending_texts(server, bob)] == [{"c": "once"}]


async def test_reusing_an_id_for_another_recipient_is_refused_not_acked_as_stored(
    server: LiveServer,
) -> None:
    with trio.fail_after(20):
        alice, bob, carol = await users(server, 3)
        async with server.connect(alice) as a:
            await a.send(
                id=CLIENT_ID, message_type="text", data={"c": "bob"}, to_user_id=str(bob.id)
            )
            assert (await stored_ack(a))["stored"] is True
            await a.send(
                id=CLIENT_ID, message_type="text", data={"c": "carol"}, to_user_id=str(carol.id)
            )
            error = await a.receive_type("error")
            assert error["data"]["code"] == "duplicate_id"
            assert error["data"]["ref_id"] == CLIENT_ID
            refused = await stored_ack(a)
            assert refused["stored"] is False and refused["ref_id"] == CLIENT_ID
        async with server.http() as http:
            reply = await http.post(
                "/ws/send",
                headers=bearer(server, alice),
                json={"id": CLIENT_ID, "to_user_id": str(carol.id), "data": {"c": "http"}},
            )
        assert reply.status_code == 409, reply.text
        assert reply.json()["error"]["code"] == "duplicate_id"
        assert await server.store.count_pending(carol.id) == 0
