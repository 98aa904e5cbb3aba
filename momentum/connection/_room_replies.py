"""The answers a connection sends to its client's room requests: an `ack`, or an `error`."""

from __future__ import annotations

import uuid
from typing import Any

from ..protocol import ErrorCode, MessageType, encode_envelope
from ._handle import Handle


def ack(handle: Handle, data: dict[str, Any]) -> None:
    """An `ack` to this client only, in its wire format."""
    handle.reply(encode_envelope(MessageType.ACK, data, to_user_id=handle.user_id))


def error(
    handle: Handle,
    code: ErrorCode,
    message: str,
    ref_id: str | None,
    room_id: uuid.UUID | None = None,
) -> None:
    """An `error` to this client only, in its wire format, counted by code."""
    handle.send_error(code, message, ref_id, room_id)
