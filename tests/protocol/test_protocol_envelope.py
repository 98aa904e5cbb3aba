"""Parsing client envelopes and encoding server envelopes (docs/protocol.md).

Rules of this module:
- Parsing and encoding are synchronous and touch no clock, so these are plain sync tests
  (an outer ``fail_after`` around code without checkpoints could never fire).
- Every refusal is checked by its ``ErrorCode`` and, where the client gave a string ``id``,
  by the ``ref_id`` echoed back; messages are checked only where they name the problem.
- UUIDs are fixed constants so that failures print the same values on every run.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from momentum.protocol import (
    API_TYPES,
    CLIENT_TYPES,
    ENVELOPE_OVERHEAD,
    ErrorCode,
    Inbound,
    MessageType,
    ProtocolError,
    _envelope,
    derive_message_id,
    encode_envelope,
    encode_error,
    new_message_id,
    parse_client_message,
    utc_timestamp,
)
from momentum.protocol._envelope import SYSTEM_ID_NAMESPACE

ME = uuid.UUID("11111111-1111-4111-8111-111111111111")
OTHER = uuid.UUID("22222222-2222-4222-8222-222222222222")
MSG_ID = "33333333-3333-4333-8333-333333333333"
MAX_SIZE = 64 * 1024
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def parse(message: dict[str, Any] | str, *, max_size: int = MAX_SIZE) -> Inbound:
    text = message if isinstance(message, str) else orjson.dumps(message).decode()
    return parse_client_message(text, sender=ME, max_size=max_size)


def refusal(message: dict[str, Any] | str, *, max_size: int = MAX_SIZE) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse(message, max_size=max_size)
    return info.value


# -- happy paths -------------------------------------------------------------------------


def test_a_client_id_is_kept_as_the_reference_and_scoped_to_its_sender() -> None:
    inbound = parse({"id": MSG_ID, "message_type": "text", "data": {"content": "hi"}})
    scoped = str(uuid.uuid5(ME, MSG_ID))
    assert inbound == Inbound(scoped, MessageType.TEXT, {"content": "hi"}, None, MSG_ID)
    assert inbound.ref_id == MSG_ID


def test_the_same_client_id_from_two_senders_names_two_messages() -> None:
    text = orjson.dumps({"id": MSG_ID, "message_type": "text"}).decode()
    mine = parse_client_message(text, sender=ME, max_size=MAX_SIZE)
    theirs = parse_client_message(text, sender=OTHER, max_size=MAX_SIZE)
    again = parse_client_message(text, sender=ME, max_size=MAX_SIZE)
    assert mine.id != theirs.id
    assert mine.id == again.id  # a retry is the same message
    assert mine.client_id == theirs.client_id == MSG_ID


def test_the_systems_ids_have_their_own_namespace() -> None:
    system = derive_message_id(None, MSG_ID)
    assert system == str(uuid.uuid5(SYSTEM_ID_NAMESPACE, MSG_ID))
    assert system != derive_message_id(ME, MSG_ID)


def test_client_id_is_normalised_to_canonical_form() -> None:
    inbound = parse({"id": MSG_ID.upper(), "message_type": "ping"})
    assert inbound.client_id == MSG_ID
    assert inbound.id == derive_message_id(ME, MSG_ID)


def test_missing_id_gets_a_fresh_uuid4() -> None:
    first = parse({"message_type": "text", "data": {}})
    second = parse({"message_type": "text", "data": {}, "id": None})
    assert uuid.UUID(first.id).version == 4
    assert uuid.UUID(second.id).version == 4
    assert first.id != second.id
    assert first.client_id is None and first.ref_id == first.id


def test_direct_message_has_recipient() -> None:
    inbound = parse({"message_type": "text", "to_user_id": str(OTHER), "data": {"c": 1}})
    assert inbound.to_user_id == OTHER


def test_null_recipient_means_broadcast() -> None:
    assert parse({"message_type": "notification", "to_user_id": None}).to_user_id is None


@pytest.mark.parametrize("data", [None, {}], ids=["null", "empty"])
def test_missing_or_null_data_is_an_empty_object(data: dict[str, Any] | None) -> None:
    assert parse({"message_type": "ping", "data": data}).data == {}
    assert parse({"message_type": "ping"}).data == {}


def test_own_id_as_sender_is_accepted() -> None:
    inbound = parse({"message_type": "text", "from_user_id": str(ME), "data": {}})
    assert inbound.type is MessageType.TEXT


def test_unknown_top_level_keys_are_ignored() -> None:
    inbound = parse({"message_type": "text", "data": {}, "timestamp": "x", "extra": [1, 2]})
    assert inbound.data == {}


@pytest.mark.parametrize("kind", sorted(CLIENT_TYPES))
def test_every_client_type_is_accepted(kind: MessageType) -> None:
    assert parse({"message_type": kind.value}).type is kind


def test_message_just_under_the_limit_is_accepted() -> None:
    limit = 2048 - ENVELOPE_OVERHEAD
    head = '{"message_type":"text","data":{"content":"'
    text = head + "x" * (limit - len(head) - 3) + '"}}'
    assert len(text) == limit
    assert parse(text, max_size=2048).data["content"].startswith("x")


# -- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "{", "not json", '{"message_type": "text",}', "{'a': 1}"])
def test_invalid_json(text: str) -> None:
    error = refusal(text)
    assert error.code is ErrorCode.INVALID_JSON
    assert error.ref_id is None


@pytest.mark.parametrize("text", ["[]", "[1, 2]", '"text"', "42", "null", "true"])
def test_json_that_is_not_an_object(text: str) -> None:
    assert refusal(text).code is ErrorCode.INVALID_ENVELOPE


@pytest.mark.parametrize("kind", [None, 5, ["text"], {"t": 1}], ids=["null", "int", "list", "obj"])
def test_missing_or_non_string_message_type(kind: object) -> None:
    message: dict[str, Any] = {"id": MSG_ID, "data": {}}
    assert refusal(message).code is ErrorCode.INVALID_ENVELOPE
    message["message_type"] = kind
    error = refusal(message)
    assert error.code is ErrorCode.INVALID_ENVELOPE
    assert error.ref_id == MSG_ID


@pytest.mark.parametrize("kind", ["chat", "TEXT", "", "text "])
def test_unknown_message_type(kind: str) -> None:
    error = refusal({"id": MSG_ID, "message_type": kind})
    assert error.code is ErrorCode.UNKNOWN_TYPE
    assert error.ref_id == MSG_ID


@pytest.mark.parametrize("kind", sorted(set(MessageType) - CLIENT_TYPES))
def test_server_only_message_type(kind: MessageType) -> None:
    error = refusal({"id": MSG_ID, "message_type": kind.value})
    assert error.code is ErrorCode.FORBIDDEN_TYPE
    assert error.ref_id == MSG_ID


def test_allowed_types_can_be_widened_for_the_http_api() -> None:
    text = orjson.dumps({"message_type": "system_message"}).decode()
    inbound = parse_client_message(text, sender=ME, max_size=MAX_SIZE, allowed=API_TYPES)
    assert inbound.type is MessageType.SYSTEM_MESSAGE


@pytest.mark.parametrize("data", ["hi", 1, [1], True], ids=["str", "int", "list", "bool"])
def test_data_not_an_object(data: object) -> None:
    error = refusal({"id": MSG_ID, "message_type": "text", "data": data})
    assert error.code is ErrorCode.INVALID_ENVELOPE
    assert error.ref_id == MSG_ID


@pytest.mark.parametrize("bad_id", [5, 1.5, True, ["x"], {"a": 1}])
def test_non_string_id(bad_id: object) -> None:
    error = refusal({"id": bad_id, "message_type": "text"})
    assert error.code is ErrorCode.INVALID_UUID
    assert error.ref_id is None  # nothing the client could match it against


@pytest.mark.parametrize("bad_id", ["", "abc", MSG_ID[:-1], MSG_ID + "0", "not-a-uuid-at-all"])
def test_string_id_that_is_not_a_uuid(bad_id: str) -> None:
    error = refusal({"id": bad_id, "message_type": "text"})
    assert error.code is ErrorCode.INVALID_UUID
    assert error.ref_id == bad_id


@pytest.mark.parametrize("recipient", [5, True, [str(OTHER)], {"id": str(OTHER)}])
def test_non_string_recipient(recipient: object) -> None:
    error = refusal({"id": MSG_ID, "message_type": "text", "to_user_id": recipient})
    assert error.code is ErrorCode.INVALID_UUID
    assert error.ref_id == MSG_ID


@pytest.mark.parametrize("recipient", ["", "bob", str(OTHER)[:-2]])
def test_recipient_that_is_not_a_uuid(recipient: str) -> None:
    error = refusal({"id": MSG_ID, "message_type": "text", "to_user_id": recipient})
    assert error.code is ErrorCode.INVALID_UUID
    assert error.ref_id == MSG_ID


def test_bad_recipient_without_client_id_has_no_ref_id() -> None:
    error = refusal({"message_type": "text", "to_user_id": "bob"})
    assert error.code is ErrorCode.INVALID_UUID
    assert error.ref_id is None


@pytest.mark.parametrize("claimed", [str(OTHER), "someone", 7, ""])
def test_spoofed_sender(claimed: object) -> None:
    error = refusal({"id": MSG_ID, "message_type": "text", "from_user_id": claimed})
    assert error.code is ErrorCode.SENDER_MISMATCH
    assert error.ref_id == MSG_ID


def test_sender_is_refused_when_there_is_no_user() -> None:
    from momentum.protocol import validate_fields

    raw = {"message_type": "text", "from_user_id": str(ME)}
    with pytest.raises(ProtocolError) as info:
        validate_fields(raw, sender=None, allowed=API_TYPES)
    assert info.value.code is ErrorCode.SENDER_MISMATCH


def test_oversize_message_names_the_message() -> None:
    text = orjson.dumps({"id": MSG_ID, "message_type": "text", "data": {"c": "x" * 2000}})
    error = refusal(text.decode(), max_size=2048)
    assert error.code is ErrorCode.PAYLOAD_TOO_LARGE
    assert error.ref_id == MSG_ID
    assert str(2048 - ENVELOPE_OVERHEAD) in error.message


@pytest.mark.parametrize("ref", [None, 5], ids=["no-id", "non-string-id"])
def test_oversize_message_without_a_usable_id(ref: object) -> None:
    message = {"id": ref, "message_type": "text", "data": {"c": "x" * 2000}}
    error = refusal(message, max_size=2048)
    assert error.code is ErrorCode.PAYLOAD_TOO_LARGE
    assert error.ref_id is None


def test_oversize_is_checked_before_the_fields() -> None:
    message = {"id": "not-a-uuid", "message_type": "chat", "data": {"c": "x" * 2000}}
    error = refusal(message, max_size=2048)
    assert error.code is ErrorCode.PAYLOAD_TOO_LARGE
    assert error.ref_id == "not-a-uuid"


@pytest.mark.parametrize(
    ("text", "code"),
    [("x" * 2000, ErrorCode.INVALID_JSON), ("[" + "1," * 1000 + "1]", ErrorCode.INVALID_ENVELOPE)],
    ids=["not-json", "not-an-object"],
)
def test_oversize_text_that_is_no_envelope_is_refused_as_such(text: str, code: ErrorCode) -> None:
    # The JSON is parsed first (trio-websocket bounds its size) so the size error can name
    # the message; text that is no envelope at all is refused for that.
    assert refusal(text, max_size=2048).code is code


def test_oversize_counts_utf8_bytes_not_characters() -> None:
    # 600 three-byte characters: 600 characters but 1800 bytes, over a 1536-byte budget.
    text = orjson.dumps({"message_type": "text", "data": {"c": "€" * 600}}).decode()
    assert len(text) < 2048 - ENVELOPE_OVERHEAD < len(text.encode())
    assert refusal(text, max_size=2048).code is ErrorCode.PAYLOAD_TOO_LARGE


def test_lone_surrogate_is_invalid_json_not_a_crash() -> None:
    error = refusal('{"message_type": "text", "data": {"c": "\ud800"}}')
    assert error.code is ErrorCode.INVALID_JSON


def test_refusal_message_is_the_exception_text() -> None:
    error = refusal({"message_type": "chat"})
    assert str(error) == error.message
    assert "chat" in error.message


# -- encoding ----------------------------------------------------------------------------


def test_encode_envelope_shape() -> None:
    raw = encode_envelope(
        MessageType.TEXT,
        {"content": "hi"},
        message_id=MSG_ID,
        from_user_id=ME,
        to_user_id=OTHER,
        timestamp="2024-01-01T00:00:00.000Z",
    )
    assert orjson.loads(raw) == {
        "id": MSG_ID,
        "message_type": "text",
        "data": {"content": "hi"},
        "timestamp": "2024-01-01T00:00:00.000Z",
        "from_user_id": str(ME),
        "to_user_id": str(OTHER),
    }
    assert list(orjson.loads(raw)) == [
        "id",
        "message_type",
        "data",
        "timestamp",
        "from_user_id",
        "to_user_id",
    ]


def test_encode_envelope_defaults() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    envelope = orjson.loads(encode_envelope(MessageType.SYSTEM_MESSAGE, {}))
    after = datetime.now(UTC)
    assert uuid.UUID(envelope["id"]).version == 4
    assert envelope["from_user_id"] is None
    assert envelope["to_user_id"] is None
    assert TIMESTAMP.match(envelope["timestamp"])
    stamped = datetime.fromisoformat(envelope["timestamp"].replace("Z", "+00:00"))
    assert before <= stamped <= after


class FakeTime:
    def __init__(self, ns: int) -> None:
        self.ns = ns

    def time_ns(self) -> int:
        return self.ns


@pytest.mark.parametrize(
    ("ns", "stamp"),
    [
        (1_704_067_200_000_000_000, "2024-01-01T00:00:00.000Z"),
        (1_704_067_200_123_456_789, "2024-01-01T00:00:00.123Z"),
        (1_704_067_200_999_999_998, "2024-01-01T00:00:00.999Z"),
        (1_719_791_999_001_000_000, "2024-06-30T23:59:59.001Z"),
    ],
)
def test_utc_timestamp_on_a_given_clock(
    monkeypatch: pytest.MonkeyPatch, ns: int, stamp: str
) -> None:
    clock = FakeTime(ns)
    monkeypatch.setattr(_envelope, "time", clock)
    timestamp = _envelope._MillisecondStamp()
    assert timestamp() == stamp
    clock.ns += 1  # same millisecond: the same text
    assert timestamp() == stamp


def test_utc_timestamp_moves_with_the_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeTime(1_704_067_200_000_999_999)
    monkeypatch.setattr(_envelope, "time", clock)
    timestamp = _envelope._MillisecondStamp()
    assert timestamp() == "2024-01-01T00:00:00.000Z"
    clock.ns += 1
    assert timestamp() == "2024-01-01T00:00:00.001Z"
    clock.ns += 59_999_000_000
    assert timestamp() == "2024-01-01T00:01:00.000Z"


def test_new_message_ids_come_from_the_os_csprng_not_a_seedable_prng(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Seeding Python's `random` must not make ids repeat: they come from os.urandom.
    ids = _envelope._RandomIds()
    drawn: list[int] = []

    def urandom(n: int) -> bytes:
        drawn.append(n)
        return bytes(range(16)) * (n // 16)

    monkeypatch.setattr("momentum.protocol._envelope.os.urandom", urandom)
    first = ids()
    assert uuid.UUID(first) == uuid.UUID(bytes=bytes(range(16)), version=4)
    for _ in range(255):
        ids()
    assert drawn == [16 * 256]  # one system call per 256 ids
    ids()
    assert drawn == [16 * 256, 16 * 256]


def test_a_forked_child_draws_fresh_ids() -> None:
    ids = _envelope._RandomIds()
    ids()
    ids.reset()  # what os.register_at_fork runs in the child
    assert ids._at == 0 and ids._pool == b""


def test_new_message_id_is_a_canonical_uuid4() -> None:
    ids = {new_message_id() for _ in range(2000)}
    assert len(ids) == 2000
    for message_id in ids:
        parsed = uuid.UUID(message_id)
        assert str(parsed) == message_id
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_utc_timestamp_format() -> None:
    stamp = utc_timestamp()
    assert TIMESTAMP.match(stamp), stamp
    assert stamp.endswith("Z")
    assert datetime.fromisoformat(stamp).utcoffset() is not None


def test_encode_error_shape() -> None:
    raw = encode_error(
        ErrorCode.UNKNOWN_TYPE, "unknown message_type 'x'", ref_id=MSG_ID, to_user_id=ME
    )
    envelope = orjson.loads(raw)
    assert envelope["message_type"] == "error"
    assert envelope["data"] == {
        "code": "unknown_type",
        "message": "unknown message_type 'x'",
        "ref_id": MSG_ID,
    }
    assert envelope["to_user_id"] == str(ME)
    assert envelope["from_user_id"] is None


def test_parsed_message_round_trips_through_encoding() -> None:
    inbound = parse({"id": MSG_ID, "message_type": "text", "to_user_id": str(OTHER), "data": {}})
    raw = encode_envelope(
        inbound.type,
        inbound.data,
        message_id=inbound.id,
        from_user_id=ME,
        to_user_id=inbound.to_user_id,
    )
    again = parse_client_message(raw.decode(), sender=ME, max_size=MAX_SIZE)
    # Sent again as is, the server's id becomes the client's reference to a new message.
    assert (again.type, again.data, again.to_user_id) == (inbound.type, {}, OTHER)
    assert again.client_id == inbound.id
    assert again.id == derive_message_id(ME, inbound.id)


def test_multibyte_message_within_the_byte_budget_is_accepted() -> None:
    head = '{"message_type":"text","data":{"c":"'
    room = (2048 - ENVELOPE_OVERHEAD - len(head) - 3) // 2
    text = head + "é" * room + '"}}'
    assert len(text.encode()) <= 2048 - ENVELOPE_OVERHEAD < len(text) * 4
    assert parse(text, max_size=2048).data == {"c": "é" * room}
