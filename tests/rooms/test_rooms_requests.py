"""The room requests a client sends, and room envelopes: pure functions, no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from momentum.protocol import ErrorCode, encode_room_message, room_frame_offset, text_frame
from momentum.rooms import RequestError, publication, subscriptions, unsubscriptions

A, B = uuid.uuid4(), uuid.uuid4()


def test_subscriptions_of_one_room_or_many_with_their_offsets() -> None:
    assert subscriptions({"room_id": str(A)}) == [(A, None)]
    assert subscriptions({"room_id": str(A), "offset": 7}) == [(A, 7)]
    many = {"room_ids": [str(A), str(B), str(A)], "offsets": {str(B).upper(): 3}}
    assert subscriptions(many) == [(A, None), (B, 3)]
    assert unsubscriptions({"room_ids": [str(B)]}) == [B]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({}, ErrorCode.INVALID_ENVELOPE),
        ({"room_ids": []}, ErrorCode.INVALID_ENVELOPE),
        ({"room_ids": [str(uuid.uuid4()) for _ in range(129)]}, ErrorCode.INVALID_ENVELOPE),
        ({"room_ids": "x"}, ErrorCode.INVALID_ENVELOPE),
        ({"room_id": 5}, ErrorCode.INVALID_ENVELOPE),
        ({"room_id": "nope"}, ErrorCode.INVALID_UUID),
        ({"room_id": str(A), "offset": -1}, ErrorCode.INVALID_ENVELOPE),
        ({"room_id": str(A), "offset": True}, ErrorCode.INVALID_ENVELOPE),
        ({"room_ids": [str(A)], "offsets": []}, ErrorCode.INVALID_ENVELOPE),
        ({"room_ids": [str(A)], "offsets": {"x": 1}}, ErrorCode.INVALID_UUID),
    ],
)
def test_bad_subscriptions(data: dict[str, Any], code: ErrorCode) -> None:
    with pytest.raises(RequestError) as refused:
        subscriptions(data)
    assert refused.value.code is code


def test_publication() -> None:
    wanted = publication({"room_id": str(A), "data": {"content": "hi"}})
    assert (wanted.room_id, wanted.message_type, wanted.data) == (A, "text", {"content": "hi"})
    assert publication({"room_id": str(A), "message_type": "notification"}).data == {}
    for bad in ({"room_id": str(A), "message_type": "ack"}, {"room_id": str(A), "data": [1]}):
        with pytest.raises(RequestError):
            publication(bad)


def test_a_room_envelope_carries_room_id_and_offset_last() -> None:
    moment = datetime(2026, 12, 2, 3, 4, 5, 678901, tzinfo=UTC)
    envelope = encode_room_message(
        message_id="m",
        message_type="text",
        payload=b'{"a":[1,{"offset":3}]}',
        room_id=A,
        offset=12345,
        from_user_id=B,
        created_at=moment,
    )
    assert orjson.loads(envelope) == {
        "id": "m",
        "message_type": "text",
        "data": {"a": [1, {"offset": 3}]},
        "timestamp": "2026-12-02T03:04:05.678Z",
        "from_user_id": str(B),
        "to_user_id": None,
        "room_id": str(A),
        "offset": 12345,
    }
    assert room_frame_offset(text_frame(envelope)) == 12345
    with pytest.raises(ValueError):
        room_frame_offset(text_frame(b'{"id":"x"}'))
