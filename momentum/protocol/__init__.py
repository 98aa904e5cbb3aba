"""The message protocol: envelopes, wire formats (JSON, MessagePack), frames, and the one
table of error and close codes."""

from ._codes import CloseCode, ErrorCode
from ._envelope import (
    API_TYPES,
    CLIENT_TYPES,
    ENVELOPE_OVERHEAD,
    MAX_NESTING,
    ROOM_TYPES,
    TOO_BIG_INTEGER,
    Inbound,
    MessageType,
    ProtocolError,
    derive_message_id,
    encode_ack,
    encode_envelope,
    encode_error,
    new_message_id,
    parse_client_message,
    utc_timestamp,
    validate_fields,
)
from ._formats import Frame, WireFormat, parse_client_msgpack
from ._frames import binary_frame, close_frame, text_frame, text_payload_offset
from ._integers import integers_fit
from ._rooms import encode_room_message, envelope_timestamp, room_frame_offset

__all__ = [
    "API_TYPES",
    "CLIENT_TYPES",
    "ENVELOPE_OVERHEAD",
    "MAX_NESTING",
    "ROOM_TYPES",
    "TOO_BIG_INTEGER",
    "CloseCode",
    "ErrorCode",
    "Frame",
    "Inbound",
    "MessageType",
    "ProtocolError",
    "WireFormat",
    "binary_frame",
    "close_frame",
    "derive_message_id",
    "encode_ack",
    "encode_envelope",
    "encode_error",
    "encode_room_message",
    "envelope_timestamp",
    "integers_fit",
    "new_message_id",
    "parse_client_message",
    "parse_client_msgpack",
    "room_frame_offset",
    "text_frame",
    "text_payload_offset",
    "utc_timestamp",
    "validate_fields",
]
