"""The connection actor's mailbox: requests from the application, each with a reply slot.

Every request is a call (`docs/sdk-python.md#design`): the application awaits the one-slot
reply channel under a timeout; when it gives up it closes its end, and the actor then drops
the request instead of sending it late.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import trio

from ._book import Book, Call, Reply

Kind = Literal["send", "broadcast", "join", "leave", "publish", "auth", "ping", "recover", "cast"]
#: Requests sent again, with the same id, on the next connection if still unanswered: the
#: server treats a repeated id as a retry (stored once, delivered again, deduped by id).
RESENT: frozenset[str] = frozenset({"send", "publish", "join"})


@dataclass(frozen=True)
class Request:
    kind: Kind
    envelope: Any  # a call's has its "id", the reference the answer names; a cast's is as given
    reply: trio.MemorySendChannel[Reply]
    room_id: str | None = None

    @property
    def ref(self) -> str:
        ref: str = self.envelope["id"]
        return ref


def new_request(
    kind: Kind, message_type: str, data: dict[str, Any], **fields: Any
) -> tuple[Request, trio.MemoryReceiveChannel[Reply]]:
    """A request and the receiving end of its reply slot."""
    send, receive = trio.open_memory_channel[Reply](1)
    envelope = {"id": str(uuid.uuid4()), "message_type": message_type, "data": data, **fields}
    room_id = data.get("room_id") if kind in ("join", "leave") else None
    return Request(kind, envelope, send, room_id), receive


def take(request: Request, book: Book) -> str:
    """Book `request` as a call awaiting its answer; its frame to send."""
    if request.kind == "join" and request.room_id is not None:
        book.rooms.join(request.room_id)
    elif request.kind == "leave" and request.room_id is not None:
        book.rooms.leave(request.room_id)
    frame = json.dumps(request.envelope)
    if request.kind == "cast":
        return frame  # no answer awaited: whatever comes back is an event
    call = Call(frame, request.reply, resend=request.kind in RESENT, kind=request.kind)
    book.calls.add(request.ref, call)
    return frame


def recovery_frames(book: Book) -> list[str]:
    """`room_subscribe` frames recovering every joined room from its last offset; their
    answers have no caller (the rooms' `RoomJoined` events say how it went)."""
    frames = []
    for data in book.rooms.resubscribe():
        request, receive = new_request("recover", "room_subscribe", data)
        receive.close()
        frame = json.dumps(request.envelope)
        book.calls.add(request.ref, Call(frame, request.reply, resend=False, kind="recover"))
        frames.append(frame)
    return frames
