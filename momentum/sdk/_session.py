"""One open WebSocket of the connection actor: recover, then read, write, ack and refresh.

Started by the connection actor for each connection and ended when the socket closes (its
`SocketClosed` is the result). Frames leave through one writer task fed by a bounded
channel, so the reader, the mailbox, the ack flusher and the token refresher never write to
the socket themselves. The events channel is bounded too: an application that stops reading
events stops the reader (back-pressure up to the server, which may close a connection that
falls too far behind, 4009; what it did not acknowledge comes again on the next one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import trio

from ._book import Book, Reply, awaited
from ._events import Event, Message
from ._incoming import route
from ._options import ClientOptions
from ._refresh import keep_token_fresh
from ._requests import Request, new_request, recovery_frames, take
from ._socket import Socket, SocketClosed

#: Frames waiting for the writer; a full queue makes its producers wait.
OUTBOX_SIZE = 64


@dataclass(frozen=True)
class Links:
    """The channels a session works with (owned by the connection actor)."""

    mailbox: trio.MemoryReceiveChannel[Request]
    events: trio.MemorySendChannel[Event]


async def run_session(
    socket: Socket, book: Book, links: Links, options: ClientOptions, resend: list[str]
) -> SocketClosed:
    """Until the socket closes: the close (code and reason) it ended with."""
    outbox_send, outbox = trio.open_memory_channel[str](OUTBOX_SIZE)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_write, socket, outbox)
        for frame in [*recovery_frames(book), *resend]:
            await outbox_send.send(frame)
        nursery.start_soon(_take_requests, links.mailbox, book, outbox_send)
        nursery.start_soon(_flush_acks_every, book, outbox_send, options.ack_interval)
        if options.refresh_token is not None:
            call = _Caller(book, outbox_send, options.request_timeout)
            nursery.start_soon(keep_token_fresh, book, call, links.events, options)
        closed = await _read(socket, book, links.events, outbox_send, options.ack_batch)
        nursery.cancel_scope.cancel()
    return closed


async def _write(socket: Socket, outbox: trio.MemoryReceiveChannel[str]) -> None:
    async for frame in outbox:
        try:
            await socket.send(frame)
        except SocketClosed:
            return  # the reader sees the close too and ends the session


async def _read(
    socket: Socket,
    book: Book,
    events: trio.MemorySendChannel[Event],
    outbox: trio.MemorySendChannel[str],
    ack_batch: int,
) -> SocketClosed:
    while True:
        try:
            raw = await socket.receive()
        except SocketClosed as closed:
            return closed
        for event in route(raw, book):
            await events.send(event)
            if isinstance(event, Message) and event.to_user_id == book.me:
                book.acks.add(event.id)  # acknowledged once the application has it
        if len(book.acks.ids) >= ack_batch:
            await _flush_acks(book, outbox)


async def _take_requests(
    mailbox: trio.MemoryReceiveChannel[Request], book: Book, outbox: trio.MemorySendChannel[str]
) -> None:
    async for request in mailbox:
        if request.kind == "cast" or awaited(request.reply):  # else its caller gave up
            await outbox.send(take(request, book))


async def _flush_acks_every(book: Book, outbox: trio.MemorySendChannel[str], every: float) -> None:
    while True:
        await trio.sleep(every)
        await _flush_acks(book, outbox)


async def _flush_acks(book: Book, outbox: trio.MemorySendChannel[str]) -> None:
    """Acknowledge the direct messages handed to the application (already in its events)."""
    while book.acks.ids:
        ids = book.acks.take()
        await outbox.send(json.dumps({"message_type": "ack", "data": {"ids": ids}}))


class _Caller:
    """Requests made from inside the session (the token refresher's `auth`)."""

    def __init__(self, book: Book, outbox: trio.MemorySendChannel[str], timeout: float) -> None:
        self._book = book
        self._outbox = outbox
        self._timeout = timeout

    async def __call__(self, request: Request, receive: trio.MemoryReceiveChannel[Reply]) -> Reply:
        """Send `request` and wait for its answer (`trio.TooSlowError` after the timeout)."""
        with receive, trio.fail_after(self._timeout):
            await self._outbox.send(take(request, self._book))
            return await receive.receive()


__all__ = ["Links", "new_request", "run_session"]
