"""What the client does with each frame the server sends: answer a call, pass an event on,
or drop a repeat. Pure bookkeeping on the `Book`; the session does the I/O."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ._book import Book
from ._errors import RequestFailed
from ._events import (
    Event,
    Message,
    OtherEnvelope,
    Presence,
    RoomJoined,
    RoomMessage,
    ServerError,
)

#: Types carrying a message for the application (direct, broadcast, system, room).
MESSAGE_TYPES = frozenset({"text", "notification", "system_message"})


def route(raw: str | bytes, book: Book) -> list[Event]:
    """The events one frame gives the application (none for answers, repeats and noise)."""
    try:
        envelope = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(envelope, dict) or not isinstance(envelope.get("message_type"), str):
        return []
    kind = envelope["message_type"]
    data = envelope.get("data")
    if not isinstance(data, dict):
        data = {}
    handler = _HANDLERS.get(kind)
    if handler is None:
        return [OtherEnvelope(kind, envelope)]
    return handler(envelope, data, book)


def _message(envelope: dict[str, Any], data: dict[str, Any], book: Book) -> list[Event]:
    message_id = envelope.get("id")
    if not isinstance(message_id, str):
        return []
    room_id, offset = envelope.get("room_id"), envelope.get("offset")
    if isinstance(room_id, str) and isinstance(offset, int):
        if not book.rooms.accept(room_id, offset):
            return []
        return [
            RoomMessage(
                message_id,
                room_id,
                offset,
                envelope["message_type"],
                data,
                envelope.get("timestamp"),
                envelope.get("from_user_id"),
            )
        ]
    if not book.recent.first_time(message_id):
        return []
    return [
        Message(
            message_id,
            envelope["message_type"],
            data,
            envelope.get("timestamp"),
            envelope.get("from_user_id"),
            envelope.get("to_user_id"),
        )
    ]


def _ack(envelope: dict[str, Any], data: dict[str, Any], book: Book) -> list[Event]:
    ref = data.get("ref_id")
    if not isinstance(ref, str):
        return []
    kind = book.calls.kind(ref)
    if kind is None:
        return [OtherEnvelope("ack", envelope)]
    events: list[Event] = []
    if kind in ("join", "recover"):
        events = _joined(data.get("rooms"), book)
    if kind == "send" and data.get("stored") is not True:
        book.calls.answer(ref, RequestFailed("not_stored", "the server did not store it"))
    else:
        book.calls.answer(ref, data)
    return events


def _joined(rooms: object, book: Book) -> list[Event]:
    events: list[Event] = []
    for room in rooms if isinstance(rooms, list) else []:
        if not isinstance(room, dict):
            continue
        room_id, offset = room.get("room_id"), room.get("offset")
        if isinstance(room_id, str) and isinstance(offset, int) and room_id in book.rooms:
            book.rooms.joined_at(room_id, offset)
            events.append(RoomJoined(room_id, offset, room.get("recovered") is not False))
    return events


def _error(envelope: dict[str, Any], data: dict[str, Any], book: Book) -> list[Event]:
    code, text = str(data.get("code", "unknown")), str(data.get("message", ""))
    ref, room_id = data.get("ref_id"), data.get("room_id")
    kind = book.calls.kind(ref) if isinstance(ref, str) else None
    if kind in ("join", "recover") and isinstance(room_id, str):
        book.rooms.leave(room_id)  # refused: not joined (the application is told below)
    if kind is None or kind == "recover":
        return [ServerError(code, text, data)]
    assert isinstance(ref, str)
    book.calls.answer(ref, RequestFailed(code, text))
    return []


def _presence(envelope: dict[str, Any], data: dict[str, Any], book: Book) -> list[Event]:
    users = data.get("users")
    listed = tuple(u for u in users if isinstance(u, dict)) if isinstance(users, list) else ()
    count = data.get("count")
    joined = envelope["message_type"] == "user_joined"
    return [Presence(joined, listed, count if isinstance(count, int) else len(listed))]


def _pong(envelope: dict[str, Any], data: dict[str, Any], book: Book) -> list[Event]:
    ref = envelope.get("id")
    if isinstance(ref, str) and book.calls.kind(ref) == "ping":
        book.calls.answer(ref, data)
    return []


_HANDLERS: dict[str, Callable[[dict[str, Any], dict[str, Any], Book], list[Event]]] = {
    **{kind: _message for kind in MESSAGE_TYPES},
    "ack": _ack,
    "error": _error,
    "user_joined": _presence,
    "user_left": _presence,
    "pong": _pong,
}
