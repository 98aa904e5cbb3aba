"""Wire formats: MessagePack parsing held to JSON's rules, and frames encoded once per format.

Rules: pure unit tests, no I/O; each case states the bytes in and the verdict out.
"""

from __future__ import annotations

import math
import uuid

import msgpack
import orjson
import pytest

from momentum.protocol import (
    ErrorCode,
    Frame,
    MessageType,
    ProtocolError,
    WireFormat,
    parse_client_message,
    parse_client_msgpack,
    text_frame,
    text_payload_offset,
)

SENDER = uuid.uuid4()
SIZE = 4096


def _refusal(payload: bytes) -> ErrorCode:
    with pytest.raises(ProtocolError) as caught:
        parse_client_msgpack(payload, sender=SENDER, max_size=SIZE)
    return caught.value.code


def test_a_msgpack_message_parses_as_its_json_twin() -> None:
    fields = {"id": str(uuid.uuid4()), "message_type": "text", "data": {"a": [1, 2.5, None]}}
    binary = parse_client_msgpack(msgpack.packb(fields), sender=SENDER, max_size=SIZE)
    text = parse_client_message(orjson.dumps(fields).decode(), sender=SENDER, max_size=SIZE)
    assert (binary.id, binary.type, binary.data) == (text.id, MessageType.TEXT, text.data)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"", ErrorCode.INVALID_MSGPACK),
        (b"\xc1", ErrorCode.INVALID_MSGPACK),
        (msgpack.packb("text"), ErrorCode.INVALID_ENVELOPE),
        (msgpack.packb({"message_type": "text", "data": {"b": b"x"}}), ErrorCode.INVALID_ENVELOPE),
        (msgpack.packb({"message_type": "text", 7: 1}), ErrorCode.INVALID_ENVELOPE),
        (msgpack.packb({"data": {"x": math.inf}}), ErrorCode.INVALID_ENVELOPE),
        (msgpack.packb({"message_type": "text", "data": "x" * SIZE}), ErrorCode.PAYLOAD_TOO_LARGE),
    ],
)
def test_what_json_cannot_carry_is_refused(payload: bytes, code: ErrorCode) -> None:
    assert _refusal(payload) == code


def test_a_float_marker_byte_in_a_string_is_not_a_float() -> None:
    payload = msgpack.packb({"message_type": "text", "data": {"s": "\xca\xcb"}})
    parsed = parse_client_msgpack(payload, sender=SENDER, max_size=SIZE)
    assert parsed.data == {"s": "\xca\xcb"}


def test_the_subprotocol_names_the_format() -> None:
    assert WireFormat.of_subprotocol("momentum.msgpack") is WireFormat.MSGPACK
    assert WireFormat.of_subprotocol("momentum") is WireFormat.JSON
    assert WireFormat.of_subprotocol(None) is WireFormat.JSON


def test_a_frame_builds_its_msgpack_form_once_and_only_on_demand() -> None:
    envelope = orjson.dumps({"id": "x", "data": {"s": "y" * 300}})
    frame = Frame.of_envelope(envelope)
    assert frame.encoded(WireFormat.JSON) == text_frame(envelope)
    assert not frame.msgpack_built
    first = frame.encoded(WireFormat.MSGPACK)
    assert frame.msgpack_built and frame.encoded(WireFormat.MSGPACK) is first
    assert first[0] == 0x82  # binary, final
    assert msgpack.unpackb(first[text_payload_offset(first) :]) == orjson.loads(envelope)
    single = WireFormat.MSGPACK.frame(envelope)
    assert single == first and WireFormat.JSON.frame(envelope) == text_frame(envelope)
