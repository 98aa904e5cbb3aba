"""WireStream: one ordered, bounded write queue shared by data frames and control bytes.

Rules of this module:
- Every test runs on a real ``socketpair()`` (WireStream writes to the file descriptor), with
  small send and receive buffers so that a ``BIG`` chunk always fills the socket and leaves
  a partly written remainder queued.
- The bytes the peer receives are compared exactly with the expected concatenation: nothing
  may be reordered, interleaved, lost or duplicated.
- Time is Trio's: deadline tests take ``autojump_clock`` and assert exact times; none sleeps
  for real. Every async test runs under an outer ``trio.fail_after``: ``TEST_DEADLINE`` real
  seconds, or ``VIRTUAL_DEADLINE`` on the autojump clock.
- Before asserting on what another task did, wait with ``wait_all_tasks_blocked()``.
- Control bytes go through ``send_all`` in tasks started with ``start_send_all``, which
  records how each call ended instead of raising into the nursery.
- A test that needs the writer calls ``write_on_demand(nursery, wire)`` before it queues
  anything: the wire then starts its writer task as soon as bytes wait, and that task
  waits, having written nothing more, for as long as the peer reads nothing.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from momentum.wire import WireStream

TEST_DEADLINE = 5.0  # real seconds
VIRTUAL_DEADLINE = 600.0  # autojump seconds, above every deadline under test
SEND_DEADLINE = 10.0
SMALL_BUFFER = 4096
BIG = bytes(range(256)) * 1024  # 256 KiB: many times what the small buffers hold


@asynccontextmanager
async def open_pair(
    *, max_frames: int = 8, prefix: bytes = b""
) -> AsyncIterator[tuple[WireStream, trio.SocketStream]]:
    left, right = trio.socket.socketpair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
    right.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    wire = WireStream(trio.SocketStream(left), prefix, max_frames=max_frames)
    peer = trio.SocketStream(right)
    try:
        yield wire, peer
    finally:
        await wire.aclose()
        await peer.aclose()


def write_on_demand(nursery: trio.Nursery, wire: WireStream) -> None:
    """Have `wire` start its writer task in `nursery` whenever bytes wait for the socket."""
    wire.write_on_demand(nursery.start_soon, send_deadline=SEND_DEADLINE)


def start_send_all(nursery: trio.Nursery, wire: WireStream, data: bytes) -> list[object]:
    """Run `wire.send_all(data)` in a task; the list gets "done" or the exception type."""
    outcome: list[object] = []

    async def send() -> None:
        try:
            await wire.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            outcome.append(type(exc))
        else:
            outcome.append("done")

    nursery.start_soon(send)
    return outcome


async def read_exactly(peer: trio.SocketStream, size: int) -> bytes:
    received = bytearray()
    while len(received) < size:
        chunk = await peer.receive_some(size - len(received))
        assert chunk, f"EOF after {len(received)} of {size} bytes"
        received += chunk
    return bytes(received)


async def read_to_eof(peer: trio.SocketStream) -> bytes:
    received = bytearray()
    while chunk := await peer.receive_some(65536):
        received += chunk
    return bytes(received)


def assert_nothing_pending(peer: trio.SocketStream) -> None:
    with pytest.raises(BlockingIOError):
        os.read(peer.socket.fileno(), 1)


# -- the fast path -----------------------------------------------------------------------


async def test_frame_is_written_at_once_without_a_writer_task() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, peer):
            assert wire.send_frame_nowait(b"hello")
            assert (wire.backlog, wire.data_frames) == (0, 0)
            assert await read_exactly(peer, 5) == b"hello"
            assert_nothing_pending(peer)


async def test_frames_queue_up_to_max_frames_then_are_refused() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair(max_frames=3) as (wire, peer), trio.open_nursery() as nursery:
            write_on_demand(nursery, wire)
            assert wire.send_frame_nowait(BIG)  # partly written, the rest queued
            assert (wire.backlog, wire.data_frames) == (1, 1)
            assert wire.send_frame_nowait(b"<d1>")
            assert wire.send_frame_nowait(b"<d2>")
            assert (wire.backlog, wire.data_frames) == (3, 3)
            assert not wire.send_frame_nowait(b"<d3>")
            await trio.testing.wait_all_tasks_blocked()
            assert (wire.backlog, wire.data_frames) == (3, 3)
            assert await read_exactly(peer, len(BIG) + 8) == BIG + b"<d1><d2>"
            await trio.testing.wait_all_tasks_blocked()
            assert (wire.backlog, wire.data_frames) == (0, 0)
            assert_nothing_pending(peer)
            assert wire.send_frame_nowait(b"<d4>")  # room again
            assert await read_exactly(peer, 4) == b"<d4>"
            nursery.cancel_scope.cancel()


async def test_control_bytes_are_never_refused() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair(max_frames=1) as (wire, peer), trio.open_nursery() as nursery:
            write_on_demand(nursery, wire)
            assert wire.send_frame_nowait(BIG)
            assert not wire.send_frame_nowait(b"<d1>")
            control = start_send_all(nursery, wire, b"[pong]")
            await trio.testing.wait_all_tasks_blocked()
            assert wire.backlog == 2
            assert control == []
            assert await read_exactly(peer, len(BIG) + 6) == BIG + b"[pong]"
            await trio.testing.wait_all_tasks_blocked()
            assert control == ["done"]
            nursery.cancel_scope.cancel()


# -- the writer task and FIFO order -------------------------------------------------------


async def test_writer_flushes_data_and_control_in_fifo_order() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, peer), trio.open_nursery() as nursery:
            write_on_demand(nursery, wire)
            assert wire.send_frame_nowait(BIG)
            assert wire.send_frame_nowait(b"<d1>")
            c1 = start_send_all(nursery, wire, b"[c1]")
            await trio.testing.wait_all_tasks_blocked()
            assert wire.send_frame_nowait(b"<d2>")
            c2 = start_send_all(nursery, wire, b"[c2]" * 3000)  # larger than the buffer
            await trio.testing.wait_all_tasks_blocked()
            assert wire.send_frame_nowait(b"<d3>")
            assert (wire.backlog, wire.data_frames) == (6, 4)
            assert (c1, c2) == ([], [])  # the peer reads nothing yet: nothing can complete

            expected = BIG + b"<d1>[c1]<d2>" + b"[c2]" * 3000 + b"<d3>"
            assert await read_exactly(peer, len(expected)) == expected
            await trio.testing.wait_all_tasks_blocked()
            assert (c1, c2) == (["done"], ["done"])
            assert (wire.backlog, wire.data_frames) == (0, 0)
            assert_nothing_pending(peer)
            nursery.cancel_scope.cancel()


async def test_send_all_returns_only_once_its_bytes_are_written() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, peer), trio.open_nursery() as nursery:
            write_on_demand(nursery, wire)
            control = start_send_all(nursery, wire, BIG)  # partly written, rest queued
            await trio.testing.wait_all_tasks_blocked()
            assert control == []
            assert wire.backlog == 1
            assert wire.data_frames == 0
            assert wire.send_frame_nowait(b"<d1>")  # queued behind the control bytes
            head = await read_exactly(peer, len(BIG) // 2)
            await trio.testing.wait_all_tasks_blocked()
            assert control == []
            rest = await read_exactly(peer, len(BIG) - len(head) + 4)
            assert head + rest == BIG + b"<d1>"
            await trio.testing.wait_all_tasks_blocked()
            assert control == ["done"]
            nursery.cancel_scope.cancel()


async def test_send_all_on_an_empty_queue_writes_directly() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, peer):
            await wire.send_all(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
            assert wire.backlog == 0
            assert await read_exactly(peer, 36) == b"HTTP/1.1 101 Switching Protocols\r\n\r\n"


async def test_wait_send_all_might_not_block_waits_for_an_empty_queue() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, peer), trio.open_nursery() as nursery:
            write_on_demand(nursery, wire)
            await wire.wait_send_all_might_not_block()  # empty queue: at once
            assert wire.send_frame_nowait(BIG)
            ready: list[bool] = []

            async def wait_ready() -> None:
                await wire.wait_send_all_might_not_block()
                ready.append(True)

            nursery.start_soon(wait_ready)
            await trio.testing.wait_all_tasks_blocked()
            assert ready == []
            assert await read_exactly(peer, len(BIG)) == BIG
            await trio.testing.wait_all_tasks_blocked()
            assert ready == [True]
            nursery.cancel_scope.cancel()


# -- dropping queued data (slow consumer) --------------------------------------------------


async def test_drop_queued_data_keeps_the_partly_written_head_and_control_bytes() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, peer), trio.open_nursery() as nursery:
            write_on_demand(nursery, wire)
            assert wire.send_frame_nowait(BIG)
            assert wire.send_frame_nowait(b"<d1>")
            c1 = start_send_all(nursery, wire, b"[c1]")
            await trio.testing.wait_all_tasks_blocked()
            assert wire.send_frame_nowait(b"<d2>")
            c2 = start_send_all(nursery, wire, b"[c2]")
            await trio.testing.wait_all_tasks_blocked()
            assert wire.send_frame_nowait(b"<d3>")

            assert wire.drop_queued_data() == 3
            assert (wire.backlog, wire.data_frames) == (3, 1)
            await trio.testing.wait_all_tasks_blocked()
            assert (c1, c2) == ([], [])  # still queued: their send_all must not return yet

            assert wire.send_frame_nowait(b"<d4>")  # e.g. nothing; the queue takes more
            expected = BIG + b"[c1][c2]<d4>"
            assert await read_exactly(peer, len(expected)) == expected
            await trio.testing.wait_all_tasks_blocked()
            assert (c1, c2) == (["done"], ["done"])
            assert (wire.backlog, wire.data_frames) == (0, 0)
            assert_nothing_pending(peer)
            nursery.cancel_scope.cancel()


async def test_drop_queued_data_with_a_control_chunk_at_the_head() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, peer), trio.open_nursery() as nursery:
            write_on_demand(nursery, wire)
            control = start_send_all(nursery, wire, BIG)
            await trio.testing.wait_all_tasks_blocked()
            assert wire.send_frame_nowait(b"<d1>")
            assert wire.send_frame_nowait(b"<d2>")
            assert wire.drop_queued_data() == 2
            assert (wire.backlog, wire.data_frames) == (1, 0)
            assert await read_exactly(peer, len(BIG)) == BIG
            await trio.testing.wait_all_tasks_blocked()
            assert control == ["done"]
            assert_nothing_pending(peer)
            nursery.cancel_scope.cancel()


async def test_drop_queued_data_on_an_empty_queue() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, _):
            assert wire.drop_queued_data() == 0
            assert (wire.backlog, wire.data_frames) == (0, 0)


# -- send deadline, close, broken peer ----------------------------------------------------


async def test_writer_aborts_after_the_send_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(VIRTUAL_DEADLINE):
        async with open_pair() as (wire, peer), trio.open_nursery() as nursery:
            write_on_demand(nursery, wire)
            start = trio.current_time()
            assert wire.send_frame_nowait(BIG)  # the writer starts: the peer never reads
            control = start_send_all(nursery, wire, b"[close]")
            await trio.testing.wait_all_tasks_blocked()
            assert (control, len(nursery.child_tasks)) == ([], 2)
            with pytest.raises(trio.BrokenResourceError):
                await wire.wait_send_all_might_not_block()  # returns when the writer gives up
            assert trio.current_time() == start + SEND_DEADLINE
            await trio.testing.wait_all_tasks_blocked()
            assert not nursery.child_tasks  # the writer ended
            assert control == [trio.BrokenResourceError]
            assert (wire.backlog, wire.data_frames) == (0, 0)
            assert not wire.send_frame_nowait(b"<d1>")
            with pytest.raises(trio.BrokenResourceError):
                await wire.send_all(b"[c2]")
            with pytest.raises(trio.BrokenResourceError):
                await wire.wait_send_all_might_not_block()
            # The socket was closed: the peer gets what the kernel took, then EOF.
            received = await read_to_eof(peer)
            assert 0 < len(received) < len(BIG)
            assert received == BIG[: len(received)]


async def test_send_deadline_is_per_stall_not_per_queue(
    autojump_clock: trio.testing.MockClock,
) -> None:
    payload = BIG[: 64 * 1024]
    with trio.fail_after(VIRTUAL_DEADLINE):
        async with open_pair() as (wire, peer), trio.open_nursery() as nursery:
            write_on_demand(nursery, wire)
            assert wire.send_frame_nowait(payload)
            start = trio.current_time()
            received = bytearray()
            while len(received) < len(payload):
                await trio.sleep(SEND_DEADLINE / 2)
                received += await peer.receive_some(len(payload))
            assert bytes(received) == payload
            assert trio.current_time() - start > SEND_DEADLINE  # many stalls, none too long
            await trio.testing.wait_all_tasks_blocked()
            assert wire.send_frame_nowait(b"<d1>")
            assert await read_exactly(peer, 4) == b"<d1>"
            nursery.cancel_scope.cancel()


async def test_aclose_stops_sending_and_the_writer() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, peer), trio.open_nursery() as nursery:
            write_on_demand(nursery, wire)
            assert wire.send_frame_nowait(BIG)
            control = start_send_all(nursery, wire, b"[c1]")
            await trio.testing.wait_all_tasks_blocked()
            assert len(nursery.child_tasks) == 2  # the writer and the control sender
            await wire.aclose()
            await trio.testing.wait_all_tasks_blocked()
            assert not nursery.child_tasks  # the writer ended
            assert control == [trio.ClosedResourceError]
            assert not wire.send_frame_nowait(b"<d1>")
            with pytest.raises(trio.ClosedResourceError):
                await wire.send_all(b"[c2]")
            with pytest.raises(trio.ClosedResourceError):
                await wire.wait_send_all_might_not_block()
            received = await read_to_eof(peer)
            assert received == BIG[: len(received)]


async def test_aclose_while_no_bytes_wait() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, _), trio.open_nursery() as nursery:
            write_on_demand(nursery, wire)
            assert wire.send_frame_nowait(b"x")
            await trio.testing.wait_all_tasks_blocked()
            assert not nursery.child_tasks  # the socket took it all: no writer
            await wire.aclose()
            assert not wire.send_frame_nowait(b"x")
            assert not nursery.child_tasks
        # the nursery exits at once: closing started no task


async def test_peer_gone_breaks_the_stream() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, peer):
            await peer.aclose()
            assert not wire.send_frame_nowait(b"<d1>")
            assert not wire.send_frame_nowait(b"<d2>")
            with pytest.raises(trio.BrokenResourceError):
                await wire.send_all(b"[c1]")


async def test_peer_gone_while_data_is_queued_ends_the_writer() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, peer), trio.open_nursery() as nursery:
            write_on_demand(nursery, wire)
            assert wire.send_frame_nowait(BIG)
            control = start_send_all(nursery, wire, b"[c1]")
            await trio.testing.wait_all_tasks_blocked()
            assert len(nursery.child_tasks) == 2  # the writer and the control sender
            await peer.aclose()
            await trio.testing.wait_all_tasks_blocked()
            assert not nursery.child_tasks  # the writer ended
            assert control == [trio.BrokenResourceError]
            assert (wire.backlog, wire.data_frames) == (0, 0)
            assert not wire.send_frame_nowait(b"<d1>")


# -- the reading side -----------------------------------------------------------------------


async def test_receive_some_replays_the_prefix_first() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair(prefix=b"GET /ws HTTP/1.1\r\n\r\n") as (wire, peer):
            await peer.send_all(b"frame bytes")
            head = await wire.receive_some(4096)
            assert head == b"GET /ws HTTP/1.1\r\n\r\n"
            assert await wire.receive_some(4096) == b"frame bytes"
            wire.forget_prefix()  # a reader that still holds the head holds nothing now
            assert head == b""
            wire.forget_prefix()


async def test_socket_and_send_eof_go_to_the_underlying_stream() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, peer):
            assert wire.socket.fileno() != peer.socket.fileno()
            assert wire.socket.family == socket.AF_UNIX
            await wire.send_eof()
            assert await peer.receive_some(10) == b""


async def test_write_on_demand_starts_a_writer_only_while_bytes_wait() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, peer), trio.open_nursery() as nursery:
            wire.write_on_demand(nursery.start_soon, send_deadline=SEND_DEADLINE)
            baseline = len(nursery.child_tasks)
            assert wire.send_frame_nowait(b"small")  # the socket takes it: no task
            assert len(nursery.child_tasks) == baseline
            assert wire.send_frame_nowait(BIG)  # only part fits: a writer starts
            assert wire.send_frame_nowait(b"tail")
            await trio.testing.wait_all_tasks_blocked()
            assert len(nursery.child_tasks) == baseline + 1
            expected = b"small" + BIG + b"tail"
            assert await read_exactly(peer, len(expected)) == expected
            await trio.testing.wait_all_tasks_blocked()
            assert len(nursery.child_tasks) == baseline  # written: the writer is gone
            assert wire.backlog == 0


async def test_write_on_demand_with_its_nursery_gone_breaks_the_stream() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, _peer):
            async with trio.open_nursery() as nursery:
                wire.write_on_demand(nursery.start_soon, send_deadline=SEND_DEADLINE)
            assert wire.send_frame_nowait(BIG)  # part written, the rest cannot be
            with pytest.raises(trio.BrokenResourceError):
                await wire.send_all(b"control")
            assert not wire.send_frame_nowait(b"more")


async def test_no_data_frame_follows_a_close_frame() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, peer):
            await wire.send_all(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")  # "H": not a close
            assert wire.send_frame_nowait(b"\x81\x02hi")
            await wire.send_all(b"\x88\x02\x03\xe8")  # the close frame
            assert not wire.send_frame_nowait(b"\x81\x05after")
            assert not wire.buffer_frame(b"\x81\x05after")
            expected = b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x02hi\x88\x02\x03\xe8"
            assert await read_exactly(peer, len(expected)) == expected


async def test_last_words_are_written_after_the_writer_nursery_is_gone() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair() as (wire, peer):
            async with trio.open_nursery() as nursery:
                wire.write_on_demand(nursery.start_soon, send_deadline=SEND_DEADLINE)
            wire.last_words = lambda: b"\x88\x02\x03\xe9"
            await wire.aclose()
            assert await read_to_eof(peer) == b"\x88\x02\x03\xe9"
