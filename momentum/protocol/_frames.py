"""Server-to-client WebSocket frames (RFC 6455 §5.2), built once and shared by recipients.

Only what the fast path needs: unmasked, unfragmented text frames. Everything else on the
wire (handshake, control frames, close) is written by trio-websocket.
"""

from __future__ import annotations

import struct

_TEXT_FIN = 0x81


def text_frame(payload: bytes) -> bytes:
    """A complete text frame holding `payload` (already UTF-8)."""
    size = len(payload)
    if size < 126:
        return bytes((_TEXT_FIN, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", _TEXT_FIN, 126, size) + payload
    return struct.pack("!BBQ", _TEXT_FIN, 127, size) + payload
