"""Server-to-client WebSocket frames (RFC 6455 §5.2), built once and shared by recipients.

Only what the fast path needs: unmasked, unfragmented text (JSON) and binary (MessagePack)
frames. Everything else on the
wire (handshake, control frames, close) is written by trio-websocket.
"""

from __future__ import annotations

import struct

_TEXT_FIN = 0x81
_BINARY_FIN = 0x82
_CLOSE_FIN = 0x88


def text_frame(payload: bytes) -> bytes:
    """A complete text frame holding `payload` (already UTF-8)."""
    return _frame(_TEXT_FIN, payload)


def text_payload_offset(frame: bytes) -> int:
    """Where the payload of a frame built by `text_frame` starts."""
    size = frame[1] & 0x7F
    return 2 if size < 126 else 4 if size == 126 else 10


def close_frame(code: int, reason: str = "") -> bytes:
    """A close frame with `code` and a reason cut to fit a control frame (125 bytes)."""
    payload = struct.pack("!H", code) + reason.encode()[:123]
    return bytes((_CLOSE_FIN, len(payload))) + payload


def binary_frame(payload: bytes) -> bytes:
    """A complete binary frame holding `payload` (a MessagePack envelope)."""
    return _frame(_BINARY_FIN, payload)


def _frame(first: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload
