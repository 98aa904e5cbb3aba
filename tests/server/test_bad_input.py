"""Bad input on a real server: every refusal is an `error` envelope, and nobody else notices.

Rules: a real server on port 0 with a real SQLite file; real trio-websocket clients, and a
raw socket client (tests/server/_raw.py) where a frame no library would send is needed; the
real clock, except for the rate limit's refill (Trio's autojump clock, the in-memory store);
an outer `trio.fail_after` in every test. For each bad input of docs/protocol.md the
sender gets an `error` envelope with `data = {code, message, ref_id}` and its connection
stays open (a ping still gets its pong); another client, connected all along, sees no
error and still receives what is sent afterwards. Frames over the size limit close with
1009, invalid UTF-8 with 1007, and a sustained flood with 4008 (docs/protocol.md).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import trio
import trio.testing
import trio_websocket

from tests._memory_store import MemoryStore

from ._live import (
    Client,
    LiveServer,
    assert_serves,
    custom_server,
    open_live_server,
    received_until_roundtrip,
    settings_for,
)
from ._raw import Frame, open_raw

MAX_MESSAGE_SIZE = 4096
REF = str(uuid.uuid4())


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A server with a 4 KiB frame limit (and the default rate limit)."""
    async with custom_server(tmp_path, max_message_size=MAX_MESSAGE_SIZE) as live:
        yield live


@dataclass
class Pair:
    """`sender` misbehaves; `bystander`, another user, must not notice."""

    sender: Client
    bystander: Client


async def open_pair(server: LiveServer, stack: AsyncExitStack) -> Pair:
    alice, bob = await server.create_user(), await server.create_user()
    sender = await stack.enter_async_context(server.connect(alice))
    bystander = await stack.enter_async_context(server.connect(bob))
    await server.wait_connections(2)
    return Pair(sender, bystander)


async def assert_bystander_undisturbed(pair: Pair) -> None:
    """The sender can still talk to the bystander, which saw no error on the way."""
    marker = str(uuid.uuid4())
    await pair.sender.send(message_type="text", data={"content": marker})
    while True:
        message = await pair.bystander.receive()
        assert message["message_type"] != "error", message
        if message["message_type"] == "text":
            assert message["data"] == {"content": marker}, "a bad frame reached the bystander"
            return


async def expect_error(client: Client, code: str, ref_id: str | None) -> dict[str, Any]:
    error = await client.receive_type("error")
    assert error["data"]["code"] == code, error
    assert error["data"]["ref_id"] == ref_id, error
    assert isinstance(error["data"]["message"], str) and error["data"]["message"]
    assert error["from_user_id"] is None  # written by the server
    assert error["to_user_id"] == str(client.user.id if client.user else None)
    return error


BadFrame = Callable[[Client, Client], str | bytes]


def envelope(**fields: Any) -> BadFrame:
    return lambda sender, bystander: orjson.dumps(fields).decode()


def spoofed(sender: Client, bystander: Client) -> str:
    assert bystander.user is not None
    return orjson.dumps(
        {"id": REF, "message_type": "text", "from_user_id": str(bystander.user.id)}
    ).decode()


BAD_INPUTS: list[tuple[str, BadFrame, str, str | None]] = [
    ("not JSON", lambda s, b: "{not json", "invalid_json", None),
    ("empty text", lambda s, b: "", "invalid_json", None),
    ("truncated JSON", lambda s, b: '{"id": "', "invalid_json", None),
    ("array", lambda s, b: "[1, 2, 3]", "invalid_envelope", None),
    ("string", lambda s, b: '"hello"', "invalid_envelope", None),
    ("null", lambda s, b: "null", "invalid_envelope", None),
    ("no message_type", envelope(id=REF, data={"content": "hi"}), "invalid_envelope", REF),
    ("message_type not a string", envelope(id=REF, message_type=5), "invalid_envelope", REF),
    (
        "data not an object",
        envelope(id=REF, message_type="text", data="hi"),
        "invalid_envelope",
        REF,
    ),
    ("data a list", envelope(id=REF, message_type="text", data=[1]), "invalid_envelope", REF),
    ("unknown type", envelope(id=REF, message_type="shout"), "unknown_type", REF),
    ("system_message", envelope(id=REF, message_type="system_message"), "forbidden_type", REF),
    ("pong", envelope(id=REF, message_type="pong"), "forbidden_type", REF),
    ("user_joined", envelope(id=REF, message_type="user_joined"), "forbidden_type", REF),
    ("user_left", envelope(id=REF, message_type="user_left"), "forbidden_type", REF),
    ("error", envelope(id=REF, message_type="error"), "forbidden_type", REF),
    ("ack without ids", envelope(id=REF, message_type="ack"), "invalid_envelope", REF),
    (
        "ack with bad ids",
        envelope(id=REF, message_type="ack", data={"ids": [1]}),
        "invalid_envelope",
        REF,
    ),
    ("id not a UUID", envelope(id="msg-1", message_type="text"), "invalid_uuid", "msg-1"),
    ("id a number", envelope(id=42, message_type="text"), "invalid_uuid", None),
    (
        "to_user_id not a UUID",
        envelope(id=REF, message_type="text", to_user_id="bob"),
        "invalid_uuid",
        REF,
    ),
    (
        "to_user_id a number",
        envelope(id=REF, message_type="text", to_user_id=7),
        "invalid_uuid",
        REF,
    ),
    ("spoofed sender", spoofed, "sender_mismatch", REF),
    ("binary frame", lambda s, b: b'{"message_type": "text"}', "binary_unsupported", None),
]


@pytest.mark.parametrize(
    ("frame", "code", "ref_id"),
    [pytest.param(frame, code, ref, id=name) for name, frame, code, ref in BAD_INPUTS],
)
async def test_bad_input_gets_an_error_and_the_connection_stays_open(
    small: LiveServer, frame: BadFrame, code: str, ref_id: str | None
) -> None:
    with trio.fail_after(10):
        async with AsyncExitStack() as stack:
            pair = await open_pair(small, stack)
            await pair.sender.ws.send_message(frame(pair.sender, pair.bystander))
            await expect_error(pair.sender, code, ref_id)
            await pair.sender.roundtrip()
            await assert_bystander_undisturbed(pair)


async def test_many_bad_inputs_in_a_row_keep_the_connection(small: LiveServer) -> None:
    with trio.fail_after(10):
        async with AsyncExitStack() as stack:
            pair = await open_pair(small, stack)
            for _, frame, code, ref_id in BAD_INPUTS:
                await pair.sender.ws.send_message(frame(pair.sender, pair.bystander))
                await expect_error(pair.sender, code, ref_id)
            await pair.sender.roundtrip()
            await assert_bystander_undisturbed(pair)


def oversize_text(size: int) -> str:
    """A valid text envelope of exactly `size` characters."""
    head = orjson.dumps({"id": REF, "message_type": "text", "data": {"content": ""}}).decode()
    padding = size - len(head)
    assert padding > 0
    return head.replace('"content":""', '"content":"' + "x" * padding + '"')


async def test_payload_too_large_under_the_frame_limit_is_an_error(small: LiveServer) -> None:
    """Room is kept for the fields the server adds: a frame near the limit is refused."""
    with trio.fail_after(10):
        async with AsyncExitStack() as stack:
            pair = await open_pair(small, stack)
            for size in (MAX_MESSAGE_SIZE - 100, MAX_MESSAGE_SIZE):
                text = oversize_text(size)
                assert len(text) == size
                await pair.sender.ws.send_message(text)
                error = await pair.sender.receive_type("error")
                assert error["data"]["code"] == "payload_too_large"
            await pair.sender.roundtrip()
            await assert_bystander_undisturbed(pair)


async def test_payload_too_large_error_names_the_message(small: LiveServer) -> None:
    with trio.fail_after(10):
        async with AsyncExitStack() as stack:
            pair = await open_pair(small, stack)
            await pair.sender.ws.send_message(oversize_text(MAX_MESSAGE_SIZE - 100))
            await expect_error(pair.sender, "payload_too_large", REF)


async def test_frame_over_the_size_limit_closes_1009(small: LiveServer) -> None:
    with trio.fail_after(10):
        async with AsyncExitStack() as stack:
            pair = await open_pair(small, stack)
            await pair.sender.ws.send_message(oversize_text(MAX_MESSAGE_SIZE + 1))
            assert await pair.sender.wait_closed() == 1009
            await small.wait_connections(1)
            await pair.bystander.roundtrip()
            await assert_serves(small)


async def test_binary_frame_over_the_size_limit_closes_1009(small: LiveServer) -> None:
    with trio.fail_after(10):
        user = await small.create_user()
        async with small.connect(user) as client:
            await client.ws.send_message(b"\x00" * (MAX_MESSAGE_SIZE + 1))
            assert await client.wait_closed() == 1009
        await assert_serves(small)


INVALID_UTF8 = b'{"message_type": "text", "data": {"content": "\xff\xfe"}}'


async def send_invalid_utf8(server: LiveServer) -> Frame | None:
    """Send a text frame that is not UTF-8 from a raw client; what the server answered."""
    raw = await open_raw(server.port)
    async with raw.stream:
        head = await raw.handshake(server.port, server.token(await server.create_user()))
        assert head.startswith(b"HTTP/1.1 101"), head
        await raw.send_frame(0x1, INVALID_UTF8)
        return await raw.read_until_close()


async def test_invalid_utf8_ends_only_that_connection(small: LiveServer) -> None:
    with trio.fail_after(10):
        async with small.connect(await small.create_user()) as bystander:
            await send_invalid_utf8(small)
            await small.wait_connections(1)
            seen = await received_until_roundtrip(bystander)
            assert not [m for m in seen if m["message_type"] in ("error", "text")], seen
        await assert_serves(small)


async def test_invalid_utf8_closes_1007(small: LiveServer) -> None:
    with trio.fail_after(10):
        close = await send_invalid_utf8(small)
        assert close is not None, "the server dropped the socket without a close frame"
        assert close.close_code == 1007


# -- rate limit ------------------------------------------------------------------------------


async def test_rate_limit_refuses_the_excess_with_rate_limited(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # On Trio's clock (so the in-memory store): the bucket refills by the clock alone.
    settings = settings_for("sqlite:///:memory:", rate_limit=2, rate_burst=5)
    with trio.fail_after(15):
        async with (
            open_live_server(settings, store=MemoryStore()) as server,
            AsyncExitStack() as stack,
        ):
            pair = await open_pair(server, stack)
            assert pair.bystander.user is not None
            to_bob = str(pair.bystander.user.id)
            for n in range(8):
                await pair.sender.send(message_type="text", data={"n": n}, to_user_id=to_bob)
            acks = errors = 0
            while acks + errors < 8:
                message = await pair.sender.receive_type("ack", "error")
                if message["message_type"] == "ack":
                    acks += 1
                else:
                    assert message["data"]["code"] == "rate_limited", message
                    errors += 1
            assert (acks, errors) == (5, 3)
            got = [(await pair.bystander.receive_type("text"))["data"]["n"] for _ in range(5)]
            assert got == [0, 1, 2, 3, 4]
            await trio.sleep(1.0)  # two tokens back (2/s): one ping, one text
            await pair.sender.roundtrip()
            await assert_bystander_undisturbed(pair)


async def test_sustained_flood_closes_4008(tmp_path: Path) -> None:
    with trio.fail_after(15):
        async with (
            custom_server(tmp_path, rate_limit=5, rate_burst=5) as server,
            AsyncExitStack() as stack,
        ):
            pair = await open_pair(server, stack)
            try:
                for n in range(30):
                    await pair.sender.send(message_type="ping", id=str(uuid.uuid4()), n=n)
            except trio_websocket.ConnectionClosed:
                pass
            assert await pair.sender.wait_closed() == 4008
            await server.wait_connections(1)
            await pair.bystander.roundtrip()
            await assert_serves(server)


async def test_spoofed_sender_never_reaches_anyone(small: LiveServer) -> None:
    with trio.fail_after(10):
        alice, bob, carol = [await small.create_user() for _ in range(3)]
        async with (
            small.connect(alice) as a,
            small.connect(bob) as b,
            small.connect(carol) as c,
        ):
            await small.wait_connections(3)
            for to_user_id in (str(carol.id), None):
                message_id = str(uuid.uuid4())
                await a.send(
                    id=message_id,
                    message_type="text",
                    data={"content": "from bob, honest"},
                    from_user_id=str(bob.id),
                    to_user_id=to_user_id,
                )
                await expect_error(a, "sender_mismatch", message_id)
            for client in (a, b, c):
                seen = await received_until_roundtrip(client)
                assert not [m for m in seen if m["message_type"] in ("text", "ack")], seen
            # Naming oneself as the sender is allowed; the server writes the same value.
            await a.send(message_type="text", data={"content": "me"}, from_user_id=str(alice.id))
            for client in (b, c):
                got = await client.receive_type("text")
                assert got["from_user_id"] == str(alice.id)
