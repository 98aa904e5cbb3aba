"""Envelopes: parsing what clients send, encoding what the server sends.

Every frame is one UTF-8 JSON object, the envelope of docs/protocol.md::

    {"id", "message_type", "data", "timestamp", "from_user_id", "to_user_id"}

Parsing is strict about what matters for routing and safety (types, UUIDs, the sender) and
lenient about the rest (unknown top-level keys are ignored). Encoding goes through orjson
once per message, never once per recipient.
"""

from __future__ import annotations

import enum
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ._codes import ErrorCode
from ._integers import integers_fit


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
    ROOM_SUBSCRIBE = "room_subscribe"
    ROOM_UNSUBSCRIBE = "room_unsubscribe"
    ROOM_PUBLISH = "room_publish"
    AUTH = "auth"


#: Types a WebSocket client may send. The rest are written by the server only.
CLIENT_TYPES = frozenset(
    {
        MessageType.TEXT,
        MessageType.NOTIFICATION,
        MessageType.PING,
        MessageType.ACK,
        MessageType.ROOM_SUBSCRIBE,
        MessageType.ROOM_UNSUBSCRIBE,
        MessageType.ROOM_PUBLISH,
        MessageType.AUTH,
    }
)
#: Client types about rooms: handled by the connection, never routed as they are.
ROOM_TYPES = frozenset(
    {MessageType.ROOM_SUBSCRIBE, MessageType.ROOM_UNSUBSCRIBE, MessageType.ROOM_PUBLISH}
)
#: Types an application backend may push through `POST /ws/send` and `/ws/broadcast`.
API_TYPES = frozenset({MessageType.TEXT, MessageType.NOTIFICATION, MessageType.SYSTEM_MESSAGE})
_KNOWN_TYPES = frozenset(t.value for t in MessageType)

#: Room left in a frame for the fields the server adds (id, timestamp, sender, quoting).
ENVELOPE_OVERHEAD = 512
#: How deep `data` may nest (objects and arrays). The JSON encoder refuses more than 254
#: levels, so a deeper message could be parsed but never sent on: it is refused on input.
MAX_NESTING = 64
TOO_BIG_INTEGER = "integers must fit in 64 bits (-2**63 to 2**64-1)"


class ProtocolError(Exception):
    """A client frame the server refuses; answered with an `error` envelope."""

    def __init__(self, code: ErrorCode, message: str, ref_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref_id = ref_id


@dataclass(frozen=True, slots=True)
class Inbound:
    """A validated client message.

    `id` is the message's id as recipients and the store see it: a fresh random UUID, or,
    when the client chose one (`client_id`, canonical), the UUID derived from the sender and
    that choice (`derive_message_id`). `client_id` is what the sender's `ack` refers to.
    """

    id: str
    type: MessageType
    data: dict[str, Any]
    to_user_id: uuid.UUID | None
    client_id: str | None = None

    @property
    def ref_id(self) -> str:
        """The id the sender knows its message by: its own choice, else the server's."""
        return self.client_id or self.id


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
    if not integers_fit(text):
        raise ProtocolError(ErrorCode.INVALID_ENVELOPE, TOO_BIG_INTEGER, _ref(raw))
    budget = max_size - ENVELOPE_OVERHEAD
    # The budget is in UTF-8 bytes, as on the wire (trio-websocket counts characters).
    # A character is 1 to 4 bytes, so only texts in between need encoding to be measured.
    if len(text) > budget or (len(text) * 4 > budget and len(text.encode()) > budget):
        raise ProtocolError(
            ErrorCode.PAYLOAD_TOO_LARGE, f"message is larger than {budget} bytes", _ref(raw)
        )
    return validate_fields(raw, sender=sender, allowed=allowed)


def _ref(raw: dict[str, Any]) -> str | None:
    ref = raw.get("id")
    return ref if isinstance(ref, str) else None


def validate_fields(
    raw: dict[str, Any],
    *,
    sender: uuid.UUID | None,
    allowed: frozenset[MessageType],
) -> Inbound:
    """Check an envelope's fields (shared by the WebSocket reader and the HTTP API)."""
    ref = raw.get("id")
    ref_id = ref if isinstance(ref, str) else None
    client_id = _client_id(ref, ref_id)
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
    if not _nesting_within(data, MAX_NESTING):
        raise ProtocolError(
            ErrorCode.INVALID_ENVELOPE, f"data is nested deeper than {MAX_NESTING} levels", ref_id
        )
    claimed = raw.get("from_user_id")
    if claimed is not None and (sender is None or claimed != str(sender)):
        raise ProtocolError(
            ErrorCode.SENDER_MISMATCH, "from_user_id is set by the server, not the client", ref_id
        )
    recipient = _recipient(raw.get("to_user_id"), ref_id)
    if client_id is None:
        return Inbound(new_message_id(), message_type, data, recipient)
    message_id = derive_message_id(sender, client_id)
    return Inbound(message_id, message_type, data, recipient, client_id)


class _RandomIds:
    """Version 4 UUID strings from the operating system's CSPRNG, 256 ids per system call.

    Ids must be unguessable: a client that could predict the next id could claim it first.
    Reading `os.urandom` in chunks keeps that at the cost of a PRNG (0.8 against 2 µs for
    `str(uuid.uuid4())`). A forked child starts with an empty pool, never its parent's.
    """

    __slots__ = ("_at", "_pool")

    _CHUNK = 16 * 256

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def reset(self) -> None:
        self._pool, self._at = b"", 0

    def __call__(self) -> str:
        at = self._at
        if at >= len(self._pool):
            self._pool, at = os.urandom(self._CHUNK), 0
        self._at = at + 16
        bits = int.from_bytes(self._pool[at : at + 16]) & _V4_CLEAR | _V4_SET
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)

#: A fresh, unpredictable message id (a random version 4 UUID string).
new_message_id = _RandomIds()
os.register_at_fork(after_in_child=new_message_id.reset)

#: The namespace of ids derived for the system's messages (sent with the API key).
SYSTEM_ID_NAMESPACE = uuid.UUID("6d6f6d65-6e74-5500-8000-73797374656d")


def derive_message_id(sender: uuid.UUID | None, client_id: str) -> str:
    """The id of a message whose sender chose `client_id`: `uuid5(sender, client_id)`.

    The same sender retrying with the same id gets the same message id (idempotent), and no
    sender can produce an id of another sender's (or a random one: those are version 4).
    """
    return str(uuid.uuid5(sender or SYSTEM_ID_NAMESPACE, client_id))


def _client_id(ref: object, ref_id: str | None) -> str | None:
    if ref is None:
        return None
    if ref_id is None:
        raise ProtocolError(ErrorCode.INVALID_UUID, "id must be a UUID string")
    try:
        return str(uuid.UUID(ref_id))
    except ValueError:
        raise ProtocolError(ErrorCode.INVALID_UUID, "id must be a UUID", ref_id) from None


def _nesting_within(value: object, limit: int) -> bool:
    """Does `value` nest objects and arrays at most `limit` levels deep? (No recursion: the
    input decides the depth.)"""
    level: list[object] = [value]
    for _ in range(limit):
        inner: list[object] = []
        for item in level:
            if isinstance(item, dict):
                inner.extend(v for v in item.values() if isinstance(v, dict | list))
            elif isinstance(item, list):
                inner.extend(v for v in item if isinstance(v, dict | list))
        if not inner:
            return True
        level = inner
    return False


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


#: Now, as envelopes carry it: ISO 8601 in UTC with milliseconds and a `Z`.
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
    code: ErrorCode,
    message: str,
    *,
    ref_id: str | None,
    to_user_id: uuid.UUID | None,
    room_id: uuid.UUID | None = None,
) -> bytes:
    """An `error` envelope: `data = {code, message, ref_id}`, and `room_id` when the
    refusal is about one room of a request."""
    data: dict[str, Any] = {"code": code.value, "message": message, "ref_id": ref_id}
    if room_id is not None:
        data["room_id"] = str(room_id)
    return encode_envelope(MessageType.ERROR, data, to_user_id=to_user_id)


def encode_ack(
    *,
    ref_id: str,
    message_id: str,
    delivered: int,
    stored: bool,
    to_user_id: uuid.UUID | None,
) -> bytes:
    """The sender's `ack` of one message: `data = {ref_id, message_id, delivered, stored}`."""
    data = {"ref_id": ref_id, "message_id": message_id, "delivered": delivered, "stored": stored}
    return encode_envelope(MessageType.ACK, data, to_user_id=to_user_id)
