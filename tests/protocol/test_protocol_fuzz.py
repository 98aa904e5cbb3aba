"""Property tests: no client frame, however malformed, escapes the protocol's error path.

Rules: hypothesis generates text frames (arbitrary strings, arbitrary JSON, and envelopes
with every field of the wrong kind); `parse_client_message` must either return an `Inbound`
or raise `ProtocolError` — anything else would reach the connection actor as a crash.
Pure functions: no Trio, no I/O.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from momentum.protocol import ErrorCode, Inbound, ProtocolError, parse_client_message

SENDER = uuid.UUID("00000000-0000-4000-8000-000000000001")
MAX_SIZE = 4096

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)  # what orjson can write
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
field_values = json_values | st.just(str(SENDER)) | st.uuids().map(str)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "id": field_values,
        "message_type": st.sampled_from(
            ["text", "notification", "ping", "ack", "pong", "error", "system_message", "nope"]
        )
        | json_values,
        "data": json_values,
        "to_user_id": field_values,
        "from_user_id": field_values,
    },
)


def check(text: str) -> None:
    try:
        result = parse_client_message(text, sender=SENDER, max_size=MAX_SIZE)
    except ProtocolError as exc:
        assert exc.code and exc.message
        return
    assert isinstance(result, Inbound)
    uuid.UUID(result.id)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_any_text_is_parsed_or_refused(text: str) -> None:
    check(text)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_is_parsed_or_refused(value: Any) -> None:
    check(orjson.dumps(value).decode())


@settings(max_examples=500, deadline=None)
@given(envelopes)
def test_any_envelope_shape_is_parsed_or_refused(envelope: dict[str, Any]) -> None:
    check(orjson.dumps(envelope).decode())


def test_numbers_orjson_cannot_hold_exactly_are_refused_not_rounded() -> None:
    huge = '{"message_type": "text", "data": {"n": 99999999999999999999999}}'
    with pytest.raises(ProtocolError) as refused:
        parse_client_message(huge, sender=SENDER, max_size=MAX_SIZE)
    assert refused.value.code is ErrorCode.INVALID_ENVELOPE
    edge = '{"message_type": "text", "data": {"n": 18446744073709551615, "s": "%s"}}' % ("9" * 30)
    parsed = parse_client_message(edge, sender=SENDER, max_size=MAX_SIZE).data
    assert parsed == {"n": 2**64 - 1, "s": "9" * 30}
    check('{"message_type": "text", "data": {"n": 1e400}}')  # infinity: invalid JSON
