"""Envelopes: parsing what clients send, encoding what the server sends.

Every frame is one UTF-8 JSON object (the seed's envelope)::

    {"id", "message_type", "data", "timestamp", "from_user_id", "to_user_id"}

Parsing is strict about what matters for routing and safety (types, UUIDs, the sender) and
lenient about the rest (unknown top-level keys are ignored). Encoding goes through orjson
once per message, never once per recipient.
"""

from __future__ import annotations

import enum
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ._codes import ErrorCode


class MessageType(enum.StrEnum):
    TEXT = "text"
    NOTIFICATION = "notification"
    SYSTEM_MESSAGE = "system_message"
    PING = "ping"
    PONG = "pong"
    USER_JOINED = "user_joined"
    USER_LEFT = "user_left"
    ERROR = "error"
    ACK = "ack"


#: Types a WebSocket client may send. The rest are written by the server only.
CLIENT_TYPES = frozenset(
    {MessageType.TEXT, MessageType.NOTIFICATION, MessageType.PING, MessageType.ACK}
)
#: Types an application backend may push through `POST /ws/send` and `/ws/broadcast`.
API_TYPES = frozenset({MessageType.TEXT, MessageType.NOTIFICATION, MessageType.SYSTEM_MESSAGE})
_KNOWN_TYPES = frozenset(t.value for t in MessageType)

#: Room left in a frame for the fields the server adds (id, timestamp, sender, quoting).
ENVELOPE_OVERHEAD = 512


class ProtocolError(Exception):
    """A client frame the server refuses; answered with an `error` envelope."""

    def __init__(self, code: ErrorCode, message: str, ref_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref_id = ref_id


@dataclass(frozen=True, slots=True)
class Inbound:
    """A validated client message; `id` is the client's UUID or a fresh one."""

    id: str
    type: MessageType
    data: dict[str, Any]
    to_user_id: uuid.UUID | None


def parse_client_message(
    text: str,
    *,
    sender: uuid.UUID,
    max_size: int,
    allowed: frozenset[MessageType] = CLIENT_TYPES,
) -> Inbound:
    """Validate one text frame from `sender`; raise ProtocolError with the reason."""
    # Parsing first is bounded (trio-websocket closes frames over `max_size` with 1009) and
    # lets the size error name the message it refuses.
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(ErrorCode.INVALID_JSON, f"invalid JSON: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise ProtocolError(ErrorCode.INVALID_ENVELOPE, "a message must be a JSON object")
    budget = max_size - ENVELOPE_OVERHEAD
    # The budget is in UTF-8 bytes, as on the wire (trio-websocket counts characters).
    # A character is 1 to 4 bytes, so only texts in between need encoding to be measured.
    if len(text) > budget or (len(text) * 4 > budget and len(text.encode()) > budget):
        ref = raw.get("id")
        raise ProtocolError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"message is larger than {budget} bytes",
            ref if isinstance(ref, str) else None,
        )
    return validate_fields(raw, sender=sender, allowed=allowed)


def validate_fields(
    raw: dict[str, Any],
    *,
    sender: uuid.UUID | None,
    allowed: frozenset[MessageType],
) -> Inbound:
    """Check an envelope's fields (shared by the WebSocket reader and the HTTP API)."""
    ref = raw.get("id")
    ref_id = ref if isinstance(ref, str) else None
    message_id = _message_id(ref, ref_id)
    kind = raw.get("message_type")
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.INVALID_ENVELOPE, "message_type is required", ref_id)
    if kind not in _KNOWN_TYPES:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message_type {kind!r}", ref_id)
    message_type = MessageType(kind)
    if message_type not in allowed:
        raise ProtocolError(
            ErrorCode.FORBIDDEN_TYPE, f"message_type {kind!r} cannot be sent here", ref_id
        )
    data = raw.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.INVALID_ENVELOPE, "data must be a JSON object", ref_id)
    claimed = raw.get("from_user_id")
    if claimed is not None and (sender is None or claimed != str(sender)):
        raise ProtocolError(
            ErrorCode.SENDER_MISMATCH, "from_user_id is set by the server, not the client", ref_id
        )
    return Inbound(message_id, message_type, data, _recipient(raw.get("to_user_id"), ref_id))


def new_message_id() -> str:
    """A random (version 4) UUID string, without `uuid.uuid4`'s system call per id.

    Message ids need uniqueness, not secrecy: the process-wide Mersenne Twister (reseeded
    after fork) gives 122 random bits at a fraction of the cost of os.urandom.
    """
    bits = random.getrandbits(128) & _V4_CLEAR | _V4_SET
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


def _message_id(ref: object, ref_id: str | None) -> str:
    if ref is None:
        return new_message_id()
    if ref_id is None:
        raise ProtocolError(ErrorCode.INVALID_UUID, "id must be a UUID string")
    try:
        return str(uuid.UUID(ref_id))
    except ValueError:
        raise ProtocolError(ErrorCode.INVALID_UUID, "id must be a UUID", ref_id) from None


def _recipient(value: object, ref_id: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.INVALID_UUID, "to_user_id must be a UUID string", ref_id)
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ProtocolError(ErrorCode.INVALID_UUID, "to_user_id must be a UUID", ref_id) from None


class _MillisecondStamp:
    """Formats the wall clock once per millisecond: many messages share one."""

    __slots__ = ("_ms", "_text")

    def __init__(self) -> None:
        self._ms = -1
        self._text = ""

    def __call__(self) -> str:
        ms = time.time_ns() // 1_000_000
        if ms != self._ms:
            moment = datetime.fromtimestamp(ms / 1000, UTC)
            self._ms, self._text = ms, moment.isoformat(timespec="milliseconds")[:-6] + "Z"
        return self._text


#: Now, as the seed writes it: ISO 8601 in UTC with milliseconds and a `Z`.
utc_timestamp = _MillisecondStamp()


def encode_envelope(
    message_type: MessageType,
    data: dict[str, Any],
    *,
    message_id: str | None = None,
    from_user_id: uuid.UUID | None = None,
    to_user_id: uuid.UUID | None = None,
    timestamp: str | None = None,
) -> bytes:
    """One envelope as JSON bytes."""
    return orjson.dumps(
        {
            "id": message_id or new_message_id(),
            "message_type": message_type.value,
            "data": data,
            "timestamp": timestamp or utc_timestamp(),
            "from_user_id": str(from_user_id) if from_user_id else None,
            "to_user_id": str(to_user_id) if to_user_id else None,
        }
    )


def encode_error(
    code: ErrorCode, message: str, *, ref_id: str | None, to_user_id: uuid.UUID | None
) -> bytes:
    """An `error` envelope: `data = {code, message, ref_id}`."""
    return encode_envelope(
        MessageType.ERROR,
        {"code": code.value, "message": message, "ref_id": ref_id},
        to_user_id=to_user_id,
    )
