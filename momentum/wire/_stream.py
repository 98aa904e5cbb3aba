"""The socket side of one connection: the request head given back first, and one ordered
write queue.

Two writers share a WebSocket connection's socket:

* trio-websocket writes the handshake response and control frames (pong, close) through
  `send_all`, as with any Trio stream;
* the hub writes pre-built data frames through `send_frame_nowait`, which costs no await:
  while the queue is empty it is one non-blocking write(2) straight to the socket.

Both go through one FIFO, so bytes never interleave or reorder. Whatever the kernel does
not take at once waits in the queue for a writer task, started only while bytes wait (see
`write_on_demand`).
The queue is the connection's outbound mailbox: it holds at most `max_frames` data frames,
and `send_frame_nowait` answers False on overflow so that the caller can close the slow
consumer. Control bytes from trio-websocket are never refused.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import trio

_WRITEV_BATCH = 64
#: A server's close frame starts with FIN + opcode 8 (control frames are never fragmented);
#: nothing else trio-websocket writes does (an HTTP response starts with "H", 0x48).
_CLOSE_FRAME_START = b"\x88"


class WireStream(trio.abc.HalfCloseableStream):
    """A `trio.SocketStream` that gives back the head bytes first, with a shared, bounded
    write queue."""

    __slots__ = (
        "_data_stopped",
        "_drained",
        "_fd",
        "_flushed",
        "_lent",
        "_prefix",
        "_queue",
        "_queued",
        "_send_deadline",
        "_spawn",
        "_state",
        "_stream",
        "_writing",
        "data_frames",
        "last_words",
        "max_frames",
    )

    def __init__(self, stream: trio.SocketStream, prefix: bytes, *, max_frames: int) -> None:
        self._stream = stream
        self._prefix = prefix
        #: the prefix as handed to the reader, emptied by `forget_prefix`
        self._lent: bytearray | None = None
        self._fd = stream.socket.fileno()
        # (chunk, is data, ticket): tickets number chunks in queue order, from 1. A list, not
        # a deque: an empty deque costs about 700 bytes, and nearly every connection's queue
        # is empty nearly always (it holds at most `max_frames` data frames: popping the
        # head of a list that short costs nothing that shows).
        self._queue: list[tuple[memoryview, bool, int]] = []
        self._queued = 0  # the last ticket given out
        # The ticket of the last chunk written in full. Every chunk before it is written or
        # was dropped (data only), so a `send_all` is done once this reaches its ticket.
        self._flushed = 0
        self._drained = trio.lowlevel.ParkingLot()
        self._state: type[trio.BrokenResourceError] | type[trio.ClosedResourceError] | None = None
        self.max_frames = max_frames
        self._data_stopped = False
        self._spawn: Callable[[Callable[[], Awaitable[None]]], object] | None = None
        self._send_deadline = 10.0
        self._writing = False  # a writer task is running
        #: asked at close for bytes to send first (a close frame the protocol layer owes)
        self.last_words: Callable[[], bytes | None] | None = None
        self.data_frames = 0  # data frames waiting in the queue

    @property
    def socket(self) -> trio.socket.SocketType:
        """The underlying socket (hypercorn and trio-websocket read addresses from it)."""
        return self._stream.socket

    @property
    def broken(self) -> bool:
        """Closed, or failed (peer gone, send deadline passed): nothing more goes out."""
        return self._state is not None

    @property
    def backlog(self) -> int:
        """Chunks waiting to be written."""
        return len(self._queue)

    # -- the fast path ---------------------------------------------------------------------

    def send_frame_nowait(self, frame: bytes) -> bool:
        """Write or queue one data frame without waiting; False if closed or the queue is full."""
        if self._state is not None or self._data_stopped:
            return False
        if not self._queue:
            written = self._write_now(frame)
            if written == len(frame):
                return True
            if self._state is not None:
                return False
            frame = frame[written:]
        if self.data_frames >= self.max_frames:
            return False
        self.data_frames += 1
        self._enqueue(memoryview(frame), data=True)
        return True

    def send_control_nowait(self, frame: bytes) -> bool:
        """Write or queue one control frame (a ping) without waiting; never refused for room
        (like trio-websocket's control frames); False if closed."""
        if self._state is not None:
            return False
        if not self._queue:
            written = self._write_now(frame)
            if written == len(frame) or self._state is not None:
                return self._state is None
            frame = frame[written:]
        self._enqueue(memoryview(frame), data=False)
        return True

    def buffer_frame(self, frame: bytes) -> bool:
        """Queue one data frame for the next `flush_nowait`; False if closed or full.

        The hub buffers every frame of a batch of messages this way and flushes each
        connection once, so that several frames cost one writev(2) instead of one write each.
        """
        if self._state is not None or self._data_stopped or self.data_frames >= self.max_frames:
            return False
        self.data_frames += 1
        self._queued += 1
        self._queue.append((memoryview(frame), True, self._queued))
        return True

    def flush_nowait(self) -> None:
        """Write what the socket takes now; what it does not take waits for the writer task."""
        if self._queue and self._state is None:
            self._flush_some()
            if self._queue:
                self._wake_writer()

    def stop_data(self) -> None:
        """Refuse data frames from now on: the connection is closing, and no data frame may
        follow its close frame (RFC 6455 §5.5.1). Control bytes still go through."""
        self._data_stopped = True

    def drop_queued_data(self) -> int:
        """Forget queued data frames (slow-consumer close), keeping a partly written head."""
        if not self._queue:
            return 0
        head = self._queue.pop(0)
        kept = [head] + [item for item in self._queue if not item[1]]
        dropped = len(self._queue) + 1 - len(kept)
        # `_flushed` stays: the control chunks kept are still unwritten, so their
        # `send_all` calls must keep waiting (counting the dropped frames as flushed
        # would wake a waiter whose ticket lies behind them while its bytes are queued).
        self._queue[:] = kept
        self.data_frames = int(head[1])
        self._drained.unpark_all()
        return dropped

    # -- trio.abc.HalfCloseableStream --------------------------------------------------------

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self._check_open()
        if data[:1] == _CLOSE_FRAME_START:  # no data frame may follow a close frame
            self.stop_data()
        if not self._queue:
            written = self._write_now(data)
            self._check_open()
            if written == len(data):
                await trio.lowlevel.checkpoint()
                return
            data = memoryview(data)[written:]
        ticket = self._enqueue(memoryview(bytes(data)), data=False)
        while self._flushed < ticket:
            self._check_open()
            await self._drained.park()

    async def wait_send_all_might_not_block(self) -> None:
        self._check_open()
        if not self._queue:
            await trio.lowlevel.checkpoint()
        while self._queue:
            await self._drained.park()
            self._check_open()  # a failure empties the queue: say so rather than return

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self._prefix:
            # A copy the reader can be made to let go of: trio-websocket's reader keeps the
            # last bytes it received in a local until its next receive returns — for an
            # idle connection the request head, token included, for hours.
            self._lent = head = bytearray(self._prefix)
            self._prefix = b""
            await trio.lowlevel.checkpoint()
            return head
        return await self._stream.receive_some(max_bytes)

    def forget_prefix(self) -> None:
        """Empty the prefix handed out by `receive_some`, once the reader has parsed it (its
        parser keeps a copy of what it needs)."""
        if self._lent is not None:
            self._lent.clear()
            self._lent = None

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        self._spawn = None  # closing: no writer task any more (its nursery may be gone)
        if self._state is None and self.last_words is not None:
            parting = self.last_words()
            if parting:  # best effort and without waiting: the stream is closing
                self._enqueue(memoryview(parting), data=False)
                self._flush_some()
        self._fail(trio.ClosedResourceError)
        await self._stream.aclose()

    # -- the writer task -------------------------------------------------------------------

    def write_on_demand(
        self, spawn: Callable[[Callable[[], Awaitable[None]]], object], *, send_deadline: float
    ) -> None:
        """Start a writer task with `spawn` (a nursery's `start_soon`) only when bytes wait
        for the socket, and let it end once they are written: an idle connection — nearly
        every connection, nearly always — keeps no writer task (about 2 KB each)."""
        self._spawn = spawn
        self._send_deadline = send_deadline

    async def _drain_queue(self) -> None:
        try:
            while self._queue and self._state is None:
                if not await self._wait_writable():
                    return
                self._flush_some()
        finally:
            self._writing = False

    async def _wait_writable(self) -> bool:
        """Wait until the socket takes more; False (the stream failed) after the deadline."""
        try:
            with trio.fail_after(self._send_deadline):
                await trio.lowlevel.wait_writable(self._fd)
        except trio.TooSlowError:
            self._fail(trio.BrokenResourceError)
            await self._stream.aclose()
            return False
        except (OSError, trio.ClosedResourceError):
            self._fail(trio.BrokenResourceError)
            return False
        return True

    def _wake_writer(self) -> None:
        if self._spawn is not None and not self._writing and self._state is None:
            self._writing = True
            try:
                self._spawn(self._drain_queue)
            except RuntimeError:  # the connection's nursery is gone: nobody will write again
                self._writing = False
                self._fail(trio.BrokenResourceError)

    # -- internals -------------------------------------------------------------------------

    def _write_now(self, data: Any) -> int:
        try:
            return os.write(self._fd, data)
        except BlockingIOError:
            return 0
        except OSError:
            self._fail(trio.BrokenResourceError)
            return 0

    def _enqueue(self, chunk: memoryview, *, data: bool) -> int:
        self._queued += 1
        self._queue.append((chunk, data, self._queued))
        if len(self._queue) == 1:
            self._wake_writer()
        return self._queued

    def _flush_some(self) -> None:
        queue = self._queue
        while queue and self._state is None:
            batch = [queue[i][0] for i in range(min(len(queue), _WRITEV_BATCH))]
            try:
                written = os.writev(self._fd, batch)
            except BlockingIOError:
                return
            except OSError:
                self._fail(trio.BrokenResourceError)
                return
            self._consume(written)
            self._drained.unpark_all()
            if written < sum(len(chunk) for chunk in batch):
                return

    def _consume(self, written: int) -> None:
        queue = self._queue
        while written and queue:
            head, is_data, ticket = queue[0]
            if written < len(head):
                queue[0] = (head[written:], is_data, ticket)
                return
            written -= len(head)
            del queue[0]
            self._flushed = ticket
            self.data_frames -= is_data

    def _check_open(self) -> None:
        if self._state is not None:
            raise self._state

    def _fail(self, error: type[trio.BrokenResourceError] | type[trio.ClosedResourceError]) -> None:
        if self._state is None:
            self._state = error
        self._queue.clear()
        self.data_frames = 0
        self._drained.unpark_all()
