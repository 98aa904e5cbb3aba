"""Wire formats: JSON text frames (the default) and MessagePack binary frames.

A client picks its format by WebSocket subprotocol (`momentum` or `momentum.msgpack`, see
docs/protocol.md). Both carry the same envelope: the server builds every message once as
JSON (what the store keeps and the cluster's broker carries), and a message for many
receivers is a `Frame`, which turns into MessagePack at most once, and only when a
MessagePack receiver asks for it.

MessagePack can say more than JSON (bin and ext values, non-string map keys, NaN and the
infinities) and less (no integer beyond 64 bits): a client's MessagePack message is refused
unless JSON could carry it unchanged, so both formats accept the same messages.
"""

from __future__ import annotations

import enum
import math
import re
import uuid
from typing import Any, NoReturn

import msgpack
import orjson

from ._codes import ErrorCode
from ._envelope import (
    CLIENT_TYPES,
    ENVELOPE_OVERHEAD,
    Inbound,
    MessageType,
    ProtocolError,
    validate_fields,
)
from ._frames import binary_frame, text_frame, text_payload_offset


class WireFormat(enum.Enum):
    """How a connection's frames are written, both ways; the value is its subprotocol."""

    JSON = "momentum"
    MSGPACK = "momentum.msgpack"

    @classmethod
    def of_subprotocol(cls, subprotocol: str | None) -> WireFormat:
        """The format a selected subprotocol names (none selected: JSON)."""
        return cls.MSGPACK if subprotocol == cls.MSGPACK.value else cls.JSON

    def frame(self, envelope: bytes) -> bytes:
        """One frame for one receiver of this format, from the envelope's JSON bytes."""
        if self is WireFormat.JSON:
            return text_frame(envelope)
        return binary_frame(msgpack.packb(orjson.loads(envelope)))


class Frame:
    """One message for many receivers: its JSON text frame, and its MessagePack binary frame
    built on the first request and kept (encoded at most once per format, lazily)."""

    __slots__ = ("_msgpack", "json")

    def __init__(self, json: bytes) -> None:
        self.json = json  # a complete text frame, as built by `text_frame`
        self._msgpack: bytes | None = None

    @classmethod
    def of_envelope(cls, envelope: bytes) -> Frame:
        return cls(text_frame(envelope))

    def encoded(self, wire_format: WireFormat) -> bytes:
        """The frame as a receiver of `wire_format` gets it."""
        if wire_format is WireFormat.JSON:
            return self.json
        packed = self._msgpack
        if packed is None:
            envelope = orjson.loads(memoryview(self.json)[text_payload_offset(self.json) :])
            packed = self._msgpack = binary_frame(msgpack.packb(envelope))
        return packed

    @property
    def msgpack_built(self) -> bool:
        """Was the MessagePack frame asked for (and built)?"""
        return self._msgpack is not None


class _ExtRefused(Exception):
    pass


def _refuse_ext(code: int, data: bytes) -> NoReturn:
    raise _ExtRefused


def parse_client_msgpack(
    payload: bytes,
    *,
    sender: uuid.UUID,
    max_size: int,
    allowed: frozenset[MessageType] = CLIENT_TYPES,
) -> Inbound:
    """Validate one binary frame from `sender` as `parse_client_message` does a text one:
    the same limits, the same fields, the same errors; raise ProtocolError with the reason."""
    raw = _unpack(payload)
    if not isinstance(raw, dict):
        raise ProtocolError(ErrorCode.INVALID_ENVELOPE, "a message must be a MessagePack map")
    ref = raw.get("id")
    ref_id = ref if isinstance(ref, str) else None
    as_json = _as_json(raw, payload, ref_id)
    budget = max_size - ENVELOPE_OVERHEAD
    # Measured both ways: the message goes on as JSON to JSON receivers (and to the store).
    if len(payload) > budget or len(as_json) > budget:
        raise ProtocolError(
            ErrorCode.PAYLOAD_TOO_LARGE, f"message is larger than {budget} bytes", ref_id
        )
    return validate_fields(raw, sender=sender, allowed=allowed)


def _unpack(payload: bytes) -> Any:
    try:
        return msgpack.unpackb(payload, raw=False, strict_map_key=False, ext_hook=_refuse_ext)
    except _ExtRefused:
        raise ProtocolError(
            ErrorCode.INVALID_ENVELOPE, "MessagePack ext values have no JSON form"
        ) from None
    except msgpack.StackError:
        raise ProtocolError(ErrorCode.INVALID_ENVELOPE, "the message nests too deep") from None
    except TypeError:  # a map or an array as a map key
        raise ProtocolError(ErrorCode.INVALID_ENVELOPE, _KEYS) from None
    except ValueError as exc:  # malformed, truncated, trailing bytes, a str not UTF-8
        why = str(exc) or type(exc).__name__
        raise ProtocolError(ErrorCode.INVALID_MSGPACK, f"invalid MessagePack: {why}") from None


#: The first byte of a MessagePack float32 or float64.
_FLOAT_MARKERS = re.compile(b"[\\xca\\xcb]")
_KEYS = "MessagePack map keys must be strings"
#: orjson's refusals, in the client's words (the message came as MessagePack).
_JSON_REFUSALS = {
    "Dict key must be str": _KEYS,
    "Type is not JSON serializable: bytes": "MessagePack bin values have no JSON form",
    "Recursion limit reached": "the message nests too deep",
}


def _as_json(raw: dict[str, Any], payload: bytes, ref_id: str | None) -> bytes:
    """The message as JSON, or the reason JSON cannot carry it."""
    try:
        encoded = orjson.dumps(raw)
    except TypeError as exc:
        why = _JSON_REFUSALS.get(str(exc), "the message has no JSON form")
        raise ProtocolError(ErrorCode.INVALID_ENVELOPE, why, ref_id) from None
    # orjson writes NaN and the infinities as null: a float the client sent would change.
    # (Only a message with a float, or with the byte of one elsewhere, is walked.)
    if _FLOAT_MARKERS.search(payload) and not _floats_finite(raw):
        raise ProtocolError(
            ErrorCode.INVALID_ENVELOPE, "NaN and infinite floats have no JSON form", ref_id
        )
    return encoded


def _floats_finite(value: object) -> bool:
    """No NaN or infinity anywhere in `value` (no recursion: the input decides the depth)."""
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True
