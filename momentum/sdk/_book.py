"""The connection actor's bookkeeping that outlives one WebSocket: calls awaiting an answer,
recent message ids, room offsets and the acknowledgements not yet sent.

Owned by the connection actor alone (docs/sdk-python.md#design); plain data, no I/O.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import trio

from ._errors import RequestFailed

#: How many message ids are remembered for de-duplication.
RECENT_IDS = 10_000
#: The server takes at most this many ids per ack frame (MAX_ACK_IDS) and rooms per request.
MAX_ACK_IDS = 1000
MAX_ROOMS_PER_REQUEST = 128

Reply = dict[str, Any] | RequestFailed


class RecentIds:
    """The last `capacity` ids seen: delivery is at-least-once, so repeats are dropped."""

    def __init__(self, capacity: int = RECENT_IDS) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def first_time(self, message_id: str) -> bool:
        """True the first time `message_id` is seen (and remember it)."""
        if message_id in self._ids:
            self._ids.move_to_end(message_id)
            return False
        self._ids[message_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True


class RoomOffsets:
    """The rooms the application joined and the last offset seen in each (None: none yet)."""

    def __init__(self) -> None:
        self._last: dict[str, int | None] = {}

    def __contains__(self, room_id: str) -> bool:
        return room_id in self._last

    def join(self, room_id: str) -> None:
        self._last.setdefault(room_id, None)

    def leave(self, room_id: str) -> None:
        self._last.pop(room_id, None)

    def joined_at(self, room_id: str, offset: int) -> None:
        """The server's ack: the client now has the room up to `offset`."""
        if room_id in self._last:
            last = self._last[room_id]
            self._last[room_id] = offset if last is None else max(last, offset)

    def accept(self, room_id: str, offset: int) -> bool:
        """True for a message to pass on: a joined room and an offset not seen yet."""
        if room_id not in self._last:
            return False
        last = self._last[room_id]
        if last is not None and offset <= last:
            return False
        self._last[room_id] = offset
        return True

    def resubscribe(self) -> list[dict[str, Any]]:
        """The `room_subscribe` data that recovers every room from its last offset."""
        rooms = list(self._last.items())
        requests = []
        for start in range(0, len(rooms), MAX_ROOMS_PER_REQUEST):
            chunk = rooms[start : start + MAX_ROOMS_PER_REQUEST]
            offsets = {room: last for room, last in chunk if last is not None}
            requests.append({"room_ids": [room for room, _ in chunk], "offsets": offsets})
        return requests


@dataclass
class Call:
    """A request sent (or to send again) whose answer a caller awaits on `reply`."""

    frame: str
    reply: trio.MemorySendChannel[Reply]
    resend: bool  # sent again on the next connection if unanswered (same id: idempotent)
    kind: str


class Calls:
    """Requests awaiting the server's answer, by their reference (`id`)."""

    def __init__(self) -> None:
        self._calls: dict[str, Call] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def add(self, ref: str, call: Call) -> None:
        self._calls[ref] = call

    def kind(self, ref: str) -> str | None:
        call = self._calls.get(ref)
        return call.kind if call is not None else None

    def answer(self, ref: str, reply: Reply) -> bool:
        """Hand `reply` to the caller of `ref`; False when no call has that reference."""
        call = self._calls.pop(ref, None)
        if call is None:
            return False
        answer(call.reply, reply)
        return True

    def after_disconnect(self, failure: RequestFailed) -> list[str]:
        """Fail the calls that cannot be repeated; the frames of those to send again."""
        frames = []
        for ref, call in list(self._calls.items()):
            if not awaited(call.reply):
                del self._calls[ref]
            elif call.resend:
                frames.append(call.frame)
            else:
                self.answer(ref, failure)
        return frames

    def fail_all(self, failure: RequestFailed) -> None:
        for ref in list(self._calls):
            self.answer(ref, failure)


def answer(channel: trio.MemorySendChannel[Reply], reply: Reply) -> None:
    """Hand `reply` over unless the caller gave up (timeout or cancelled)."""
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, trio.WouldBlock):
        channel.send_nowait(reply)


def awaited(reply: trio.MemorySendChannel[Reply]) -> bool:
    """Whether the caller still waits for this reply (it closes its end when it gives up)."""
    return reply.statistics().open_receive_channels > 0


@dataclass
class AckBatch:
    """Ids of direct messages handed to the application, to acknowledge in one frame."""

    ids: list[str] = field(default_factory=list)

    def add(self, message_id: str) -> None:
        self.ids.append(message_id)

    def take(self) -> list[str]:
        taken, self.ids = self.ids[:MAX_ACK_IDS], self.ids[MAX_ACK_IDS:]
        return taken


@dataclass
class Book:
    """Everything the connection actor keeps across connections (the actor is its owner)."""

    token: str
    me: str  # the user id the token names
    calls: Calls = field(default_factory=Calls)
    recent: RecentIds = field(default_factory=RecentIds)
    rooms: RoomOffsets = field(default_factory=RoomOffsets)
    acks: AckBatch = field(default_factory=AckBatch)
