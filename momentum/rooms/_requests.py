"""The `data` of the room requests a WebSocket client sends, checked.

`room_subscribe`: `{"room_ids": [...], "offsets": {"<room id>": <last offset seen>}}`, or
`{"room_id": "...", "offset": <last offset seen>}` for one room; either with `"grant":
"<JWT>"`, a room grant for the private rooms the user is not a member of. `room_unsubscribe`:
`{"room_ids": [...]}` or `{"room_id": "..."}`. `room_publish`: `{"room_id": "...",
"data": {...}, "message_type": "text" | "notification"}`. A request that breaks these
shapes raises `RequestError` with the code to answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ..protocol import ErrorCode

#: Rooms one request may name.
MAX_ROOMS_PER_REQUEST = 128
#: Message types a client may publish to a room.
PUBLISH_TYPES = ("text", "notification")
_MAX_OFFSET = 2**63 - 1
#: The longest room grant taken (a JWT naming `MAX_GRANT_ROOMS` rooms fits).
MAX_GRANT_CHARS = 64 * 1024


class RequestError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Publication:
    room_id: uuid.UUID
    message_type: str
    data: dict[str, Any]


def subscriptions(data: dict[str, Any]) -> list[tuple[uuid.UUID, int | None]]:
    """The rooms to subscribe to, each with the last offset the client saw (or None)."""
    rooms = _room_ids(data)
    offsets: dict[str, Any]
    if "room_id" in data:
        offsets = {} if data.get("offset") is None else {str(rooms[0]): data["offset"]}
    else:
        raw = data.get("offsets")
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            raise RequestError(ErrorCode.INVALID_ENVELOPE, "offsets must be an object")
        offsets = {str(_uuid(key)): value for key, value in raw.items()}
    for value in offsets.values():
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_OFFSET:
            raise RequestError(ErrorCode.INVALID_ENVELOPE, "an offset is an integer >= 0")
    return [(room_id, offsets.get(str(room_id))) for room_id in rooms]


def grant_token(data: dict[str, Any]) -> str | None:
    """The room grant a `room_subscribe` carries, if any (checked later, if needed)."""
    token = data.get("grant")
    if token is None:
        return None
    if not isinstance(token, str) or not 0 < len(token) <= MAX_GRANT_CHARS:
        raise RequestError(ErrorCode.INVALID_ENVELOPE, "grant is a JWT string")
    return token


def unsubscriptions(data: dict[str, Any]) -> list[uuid.UUID]:
    return _room_ids(data)


def publication(data: dict[str, Any]) -> Publication:
    room_id = _uuid(data.get("room_id"))
    kind = data.get("message_type", "text")
    if kind not in PUBLISH_TYPES:
        allowed = " or ".join(PUBLISH_TYPES)
        raise RequestError(ErrorCode.INVALID_ENVELOPE, f"message_type is {allowed}")
    body = data.get("data", {})
    if not isinstance(body, dict):
        raise RequestError(ErrorCode.INVALID_ENVELOPE, "data.data must be a JSON object")
    return Publication(room_id, str(kind), body)


def _room_ids(data: dict[str, Any]) -> list[uuid.UUID]:
    if "room_id" in data:
        return [_uuid(data["room_id"])]
    raw = data.get("room_ids")
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_ROOMS_PER_REQUEST:
        raise RequestError(
            ErrorCode.INVALID_ENVELOPE,
            f"give room_id, or room_ids: 1 to {MAX_ROOMS_PER_REQUEST} room ids",
        )
    return list(dict.fromkeys(_uuid(value) for value in raw))


def _uuid(value: object) -> uuid.UUID:
    if not isinstance(value, str):
        raise RequestError(ErrorCode.INVALID_ENVELOPE, "a room id is a UUID string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise RequestError(ErrorCode.INVALID_UUID, f"not a UUID: {value[:64]!r}") from None
