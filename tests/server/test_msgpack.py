"""MessagePack frames on a real server: the `momentum.msgpack` subprotocol, end to end.

Rules: a real server on port 0 with a real SQLite file; real trio-websocket clients, some
talking JSON and some MessagePack (`Client.binary`: every frame it receives must be binary
MessagePack, every frame it sends is); the real clock; an outer `trio.fail_after` in every
test. The envelope a MessagePack client decodes must equal the one a JSON client decodes,
field for field, and every bad input gets its `error` envelope in MessagePack while the
connection stays usable (a ping still gets its pong).
"""

from __future__ import annotations

import math
import uuid
from contextlib import AsyncExitStack
from typing import Any

import msgpack
import pytest
import trio

from ._live import API_KEY, Client, LiveServer, answered, received_until, received_until_roundtrip
from .test_rooms_ws import new_room, subscribe

KEY = {"X-API-Key": API_KEY}
TIMEOUT = 20
REF = str(uuid.uuid4())


async def test_the_subprotocol_picks_the_format_first_offer_wins(server: LiveServer) -> None:
    user = await server.create_user()
    with trio.fail_after(TIMEOUT):
        offers = [
            (["momentum.msgpack"], "momentum.msgpack"),
            (["momentum.msgpack", "momentum"], "momentum.msgpack"),
            (["momentum", "momentum.msgpack"], "momentum"),
            (["momentum"], "momentum"),
        ]
        for offered, selected in offers:
            async with server.connect(user, subprotocols=offered) as client:
                assert client.ws.subprotocol == selected
                assert client.binary == (selected == "momentum.msgpack")
                await client.roundtrip()
        async with server.connect(user) as plain:  # nothing offered: JSON
            assert plain.ws.subprotocol is None and not plain.binary
            await plain.roundtrip()


async def test_every_message_type_round_trips_in_msgpack(server: LiveServer) -> None:
    alice, bob = await server.create_user(), await server.create_user()
    with trio.fail_after(TIMEOUT):
        async with server.connect(alice, binary=True) as a, server.connect(bob, binary=True) as b:
            await server.wait_connections(2)
            joined = await a.receive_type("user_joined")
            assert isinstance(joined["data"]["users"], list)
            # ping / pong
            await a.send(message_type="ping", id=REF)
            pong = await a.receive_type("pong")
            assert pong["id"] == REF and pong["data"] == {}
            # broadcast text: everyone, then the sender's ack
            data = {"content": "hé", "n": [1, -2, 3.5, True, None], "deep": {"x": {}}}
            await a.send(message_type="text", data=data)
            got = await b.receive_type("text")
            assert got["data"] == data and got["from_user_id"] == str(alice.id)
            ack = await a.receive_type("ack")
            assert ack["data"]["stored"] is False and ack["data"]["delivered"] == 2
            # direct notification, stored, then acknowledged by the recipient
            ref = str(uuid.uuid4())
            await a.send(id=ref, message_type="notification", to_user_id=str(bob.id), data={})
            direct = await b.receive_type("notification")
            assert direct["to_user_id"] == str(bob.id)
            ack = await a.receive_type("ack")
            assert ack["data"]["ref_id"] == ref and ack["data"]["stored"] is True
            await b.send(message_type="ack", data={"ids": [direct["id"]]})
            while await server.store.pending_messages(bob.id, after_seq=0, limit=10):  # noqa: ASYNC110
                await trio.sleep(0.01)  # written in the store writer's next batch
            # an error
            await a.send(message_type="shout", id=REF)
            error = await a.receive_type("error")
            assert error["data"] == {
                "code": "unknown_type",
                "message": "unknown message_type 'shout'",
                "ref_id": REF,
            }
            # system_message through the HTTP API (which stays JSON)
            async with server.http() as http:
                body = {"message_type": "system_message", "data": {"content": "maintenance"}}
                reply = await http.post("/ws/broadcast", headers=KEY, json=body)
                assert reply.status_code < 300, reply.text
            system = await b.receive_type("system_message")
            assert system["data"] == {"content": "maintenance"}
        carol = await server.create_user()  # a newcomer: presence coalesces comebacks
        async with server.connect(alice, binary=True) as watcher:
            async with server.connect(carol):
                await _announced(watcher, "user_joined", carol.id)
            await _announced(watcher, "user_left", carol.id)


async def _announced(client: Client, kind: str, user_id: uuid.UUID) -> None:
    """Wait for a presence frame of `kind` naming `user_id` (presence is coalesced)."""
    while True:
        frame = await client.receive_type(kind)
        if str(user_id) in [u["user_id"] for u in frame["data"]["users"]]:
            return


async def test_room_requests_round_trip_in_msgpack(server: LiveServer) -> None:
    owner = await server.create_user()
    room_id = await new_room(server, owner)
    with trio.fail_after(TIMEOUT):
        async with server.connect(owner, binary=True) as client:
            entry = await subscribe(client, room_id)
            assert entry["room_id"] == room_id and entry["recovered"] is True
            await client.send(
                id=REF,
                message_type="room_publish",
                data={"room_id": room_id, "data": {"content": "hello room"}},
            )
            seen = await received_until(client, answered([REF], room_messages=1))
            message = next(m for m in seen if m["message_type"] == "text")
            assert message["room_id"] == room_id and message["offset"] == 1
            assert message["data"] == {"content": "hello room"}
            ack = next(m for m in seen if m["message_type"] == "ack")
            assert ack["data"]["offset"] == 1 and ack["data"]["stored"] is True
            await client.send(message_type="room_unsubscribe", data={"room_id": room_id})
            ack = await client.receive_type("ack")
            assert ack["data"]["rooms"] == [room_id]


def _without_volatile(envelope: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in envelope.items() if k != "timestamp"}


async def test_one_broadcast_and_one_room_message_reach_mixed_receivers_alike(
    server: LiveServer,
) -> None:
    users = [await server.create_user() for _ in range(4)]
    room_id = await new_room(server, users[0])
    data = {"content": "mixed", "big": 2**64 - 1, "small": -(2**63), "f": 0.1}
    with trio.fail_after(TIMEOUT):
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(server.connect(user, binary=i % 2 == 1))
                for i, user in enumerate(users)
            ]
            await server.wait_connections(4)
            for client in clients:
                await subscribe(client, room_id)
            await clients[1].send(message_type="text", data=data)
            broadcasts = [await c.receive_type("text") for c in clients]
            assert all(b["data"] == data for b in broadcasts)
            assert all(_without_volatile(b) == _without_volatile(broadcasts[0]) for b in broadcasts)
            await clients[0].send(
                message_type="room_publish", data={"room_id": room_id, "data": data}
            )
            in_room = [await c.receive_type("text") for c in clients]
            assert all(m["room_id"] == room_id and m["data"] == data for m in in_room)
            assert all(m == in_room[0] for m in in_room)


async def test_stored_messages_are_replayed_in_msgpack(server: LiveServer) -> None:
    alice, bob = await server.create_user(), await server.create_user()
    room_id = await new_room(server, alice)
    with trio.fail_after(TIMEOUT):
        async with server.connect(alice) as a:  # JSON sender, bob offline
            for n in range(3):
                await a.send(message_type="text", to_user_id=str(bob.id), data={"n": n})
                assert (await a.receive_type("ack"))["data"]["stored"] is True
            await subscribe(a, room_id)
            for _ in range(2):
                await a.send(message_type="room_publish", data={"room_id": room_id, "data": {}})
                await a.receive_type("ack")
        async with server.connect(bob, binary=True) as b:
            replayed = [await b.receive_type("text") for _ in range(3)]
            assert [m["data"] for m in replayed] == [{"n": 0}, {"n": 1}, {"n": 2}]
            # recovers the room from its first message, before the ack
            await b.send(message_type="room_subscribe", data={"room_id": room_id, "offset": 0})
            seen = await received_until_roundtrip(b)
            assert [m.get("offset") for m in seen if m["message_type"] == "text"] == [1, 2]


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def _packed(**fields: Any) -> bytes:
    packed: bytes = msgpack.packb(fields)
    return packed


BAD_FRAMES: list[tuple[str, str | bytes, str, str | None]] = [
    ("not MessagePack", b"\xc1", "invalid_msgpack", None),
    ("truncated", _packed(id=REF, message_type="text")[:-3], "invalid_msgpack", None),
    ("trailing bytes", _packed(message_type="text") + b"\x00", "invalid_msgpack", None),
    ("a str that is not UTF-8", b"\x81\xa1a\xa2\xff\xfe", "invalid_msgpack", None),
    ("not a map", msgpack.packb([1, 2]), "invalid_envelope", None),
    (
        "nested too deep",
        _packed(id=REF, message_type="text", data=_nested(65)),
        "invalid_envelope",
        REF,
    ),
    ("nested past JSON", msgpack.packb({"x": _nested(300)}), "invalid_envelope", None),
    ("nested past the decoder", b"\x91" * 5000, "invalid_envelope", None),
    (
        "a bin value",
        _packed(id=REF, message_type="text", data={"b": b"\x00"}),
        "invalid_envelope",
        REF,
    ),
    (
        "an ext value",
        _packed(id=REF, message_type="text", data={"e": msgpack.ExtType(1, b"x")}),
        "invalid_envelope",
        None,
    ),
    (
        "an integer key",
        msgpack.packb({"id": REF, "message_type": "text", 1: 2}),
        "invalid_envelope",
        REF,
    ),
    ("a map as a key", b"\x81\x81\xa1a\x01\x01", "invalid_envelope", None),
    ("NaN", _packed(id=REF, message_type="text", data={"x": math.nan}), "invalid_envelope", REF),
    (
        "infinity",
        _packed(id=REF, message_type="text", data={"x": -math.inf}),
        "invalid_envelope",
        REF,
    ),
    (
        "oversize",
        _packed(id=REF, message_type="text", data={"s": "x" * 65100}),
        "payload_too_large",
        REF,
    ),
    (
        "oversize once JSON",
        _packed(id=REF, message_type="text", data={"s": "\x00" * 11000}),
        "payload_too_large",
        REF,
    ),
    ("unknown type", _packed(id=REF, message_type="shout"), "unknown_type", REF),
    ("id not a UUID", _packed(id="nope", message_type="text"), "invalid_uuid", "nope"),
    ("a text frame", '{"message_type": "text"}', "text_unsupported", None),
]


@pytest.mark.parametrize(
    ("frame", "code", "ref_id"), [b[1:] for b in BAD_FRAMES], ids=[b[0] for b in BAD_FRAMES]
)
async def test_bad_input_gets_an_error_in_msgpack_and_the_connection_stays(
    server: LiveServer, frame: str | bytes, code: str, ref_id: str | None
) -> None:
    alice, bob = await server.create_user(), await server.create_user()
    with trio.fail_after(TIMEOUT):
        async with server.connect(alice, binary=True) as sender, server.connect(bob) as other:
            await server.wait_connections(2)
            await sender.ws.send_message(frame)
            error = await sender.receive_type("error")
            assert error["data"]["code"] == code, error
            assert error["data"]["ref_id"] == ref_id, error
            assert error["to_user_id"] == str(alice.id) and error["data"]["message"]
            await sender.send(message_type="text", data={"after": True})
            assert (await other.receive_type("text", "error"))["data"] == {"after": True}


async def test_a_binary_frame_on_a_json_connection_is_refused(server: LiveServer) -> None:
    user = await server.create_user()
    with trio.fail_after(TIMEOUT):
        async with server.connect(user) as client:
            await client.ws.send_message(_packed(message_type="ping"))
            error = await client.receive_type("error")
            assert error["data"]["code"] == "binary_unsupported"
            await client.roundtrip()


async def test_integers_at_the_64_bit_edges_pass_unchanged(server: LiveServer) -> None:
    """MessagePack has no integer beyond 64 bits; the edges of its range are JSON's too."""
    user = await server.create_user()
    data = {"max": 2**64 - 1, "min": -(2**63)}
    with trio.fail_after(TIMEOUT):
        async with server.connect(user, binary=True) as client:
            await client.send(message_type="text", data=data)
            assert (await client.receive_type("text"))["data"] == data
