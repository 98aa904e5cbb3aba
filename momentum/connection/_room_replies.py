"""The answers a connection sends to its client's room requests: an `ack`, or an `error`."""

from __future__ import annotations

import uuid
from typing import Any

from ..protocol import ErrorCode, MessageType, encode_envelope, encode_error, text_frame
from ._handle import Handle


def ack(handle: Handle, data: dict[str, Any]) -> None:
    handle.send(text_frame(encode_envelope(MessageType.ACK, data, to_user_id=handle.user_id)))


def error(
    handle: Handle,
    code: ErrorCode,
    message: str,
    ref_id: str | None,
    room_id: uuid.UUID | None = None,
) -> None:
    answer = encode_error(code, message, ref_id=ref_id, to_user_id=handle.user_id, room_id=room_id)
    handle.send(text_frame(answer))
