"""A connection's handle: the hub's batched writes, replies in order, frames held during the
replay of stored messages, and the close decision.

Rules: a real `WireStream` on a socket pair (the handle writes to a file descriptor), the
peer end read with plain non-blocking `recv`; no server, no actor. Tests with no await need
no `fail_after` (it could never fire).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import cast

import pytest
import trio
import trio_websocket

from momentum.connection import Handle
from momentum.connection._handle import REPLAYED_WINDOW
from momentum.connection._links import ReaderLinks
from momentum.connection._ratelimit import TokenBucket
from momentum.connection._reader import read_frames
from momentum.protocol import CloseCode, Frame, WireFormat, text_frame
from momentum.wire import WireStream

MAX_FRAMES = 4
MSGPACK = WireFormat.MSGPACK


@contextmanager
def socket_pair() -> Iterator[tuple[WireStream, socket.socket]]:
    ours, peer = socket.socketpair()
    peer.setblocking(False)
    wire = WireStream(
        trio.SocketStream(trio.socket.from_stdlib_socket(ours)), b"", max_frames=MAX_FRAMES
    )
    try:
        yield wire, peer
    finally:
        peer.close()


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Handle, socket.socket]]:
    with socket_pair() as (wire, peer):
        handle = Handle(1, uuid.uuid4(), "u", wire, connected_at="now", now=0.0)
        try:
            yield handle, peer
        finally:
            await wire.aclose()


def received(peer: socket.socket) -> bytes:
    try:
        return peer.recv(1 << 16)
    except BlockingIOError:
        return b""


async def test_the_hubs_first_frame_goes_out_at_once_later_ones_at_flush(
    pair: tuple[Handle, socket.socket],
) -> None:
    handle, peer = pair
    handle.go_live()
    assert handle.offer(Frame(b"one"))
    assert received(peer) == b"one"
    assert handle.offer(Frame(b"two")) and handle.offer(Frame(b"three"))
    assert received(peer) == b""  # coalesced until the end of the hub's batch
    handle.flush()
    assert received(peer) == b"twothree"
    assert handle.offer(Frame(b"four"))  # a new batch: straight out again
    assert received(peer) == b"four"


async def test_frames_are_held_during_the_replay_and_follow_the_stored_ones(
    pair: tuple[Handle, socket.socket],
) -> None:
    handle, peer = pair
    assert handle.replaying
    assert handle.offer(Frame(b"[live]"))
    assert handle.send(b"[pong]")  # a reply, too, waits behind the stored messages
    assert handle.wire.send_frame_nowait(b"[stored]")  # what the replay writes
    assert received(peer) == b"[stored]"
    handle.go_live()
    assert not handle.replaying
    assert received(peer) == b"[live][pong]"


async def test_held_frames_are_bounded_like_the_queue(pair: tuple[Handle, socket.socket]) -> None:
    handle, _ = pair
    for i in range(MAX_FRAMES):
        assert handle.offer(Frame(b"%d" % i))
    assert not handle.offer(Frame(b"one too many"))  # the hub closes it as a slow consumer
    assert not handle.closing  # that is the hub's decision, not the handle's
    assert not handle.send(b"a reply")  # a reply that does not fit closes it itself
    assert handle.close_code == CloseCode.SLOW_CONSUMER


async def test_a_close_decision_stops_data_frames(pair: tuple[Handle, socket.socket]) -> None:
    handle, peer = pair
    handle.go_live()
    handle.close(CloseCode.USER_DISABLED, "user disabled")
    handle.close(CloseCode.STALE, "late")  # the first decision wins
    assert handle.closing and handle.close_code == CloseCode.USER_DISABLED
    assert not handle.offer(Frame(b"data")) and not handle.send(b"data")
    assert received(peer) == b""


async def test_a_slow_consumer_close_drops_what_is_queued(
    pair: tuple[Handle, socket.socket],
) -> None:
    handle, _ = pair
    handle.go_live()
    handle.offer(Frame(b"first"))
    for _ in range(MAX_FRAMES - 1):
        assert handle.offer(Frame(b"queued"))
    assert handle.wire.data_frames == MAX_FRAMES - 1
    handle.close(CloseCode.SLOW_CONSUMER, "slow consumer")
    # the queue's head stays (it may be partly written: cutting it would break the stream)
    assert handle.wire.data_frames == 1


async def test_a_failed_socket_makes_the_handle_closing() -> None:
    with socket_pair() as (wire, peer):
        handle = Handle(1, uuid.uuid4(), "u", wire, connected_at="now", now=0.0)
        handle.go_live()
        peer.close()
        while handle.offer(Frame(b"x" * 65536)):  # until the write fails: the peer is gone
            handle.flush()
        assert handle.closing and handle.close_code is None
        await wire.aclose()


async def test_stalls_of_the_reader_are_remembered_for_the_heartbeat(
    pair: tuple[Handle, socket.socket],
) -> None:
    handle, _ = pair
    start = trio.current_time()
    assert not handle.stalled_since(start)
    handle.stall_started()
    assert handle.stalled_since(start)
    handle.stall_ended()
    assert handle.stalled_since(start)  # it ended after `start`
    assert not handle.stalled_since(trio.current_time() + 1)


def message(message_id: str) -> bytes:
    """A message as the server frames it (long enough for a 4-byte frame header)."""
    return text_frame(b'{"id":"%s","data":"%s"}' % (message_id.encode(), b"x" * 200))


async def test_a_replayed_message_is_not_sent_again_live(
    pair: tuple[Handle, socket.socket], autojump_clock: trio.abc.Clock
) -> None:
    """A message committed while the connection joins is read by the replay and routed
    live too: the connection gets it once, held or arriving just after the replay."""
    handle, peer = pair
    first, second, third, other = (str(uuid.uuid4()) for _ in range(4))
    await trio.sleep(1)  # the clock is past zero, as it is in a server
    assert handle.offer(Frame(message(first)))  # held: replaying
    assert handle.offer(Frame(message(second)))
    for stored in (first, second, third):
        handle.replayed(stored)
        assert handle.wire.send_frame_nowait(message(stored))
    handle.go_live()
    assert handle.offer(Frame(message(third)))  # its live copy, after the replay: dropped too
    assert handle.offer(Frame(message(other)))  # anything else goes through
    assert received(peer) == message(first) + message(second) + message(third) + message(other)
    await trio.sleep(REPLAYED_WINDOW + 1)
    assert handle.offer(Frame(message(first)))  # past the window: ids are forgotten
    handle.flush()
    assert received(peer) == message(first)


async def test_a_msgpack_connection_gets_held_frames_in_msgpack_minus_the_replayed(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Replayed ids are read from the JSON form of a frame whatever the receiver's format."""
    kept, replayed = str(uuid.uuid4()), str(uuid.uuid4())
    with socket_pair() as (wire, peer):
        handle = Handle(
            1, uuid.uuid4(), "u", wire, connected_at="now", now=0.0, wire_format=MSGPACK
        )
        await trio.sleep(1)
        frames = [Frame(message(kept)), Frame(message(replayed))]
        assert all(handle.offer(frame) for frame in frames)  # held: replaying
        handle.replayed(replayed)
        handle.go_live()
        assert received(peer) == frames[0].encoded(MSGPACK)
        assert received(peer) == b""
        await wire.aclose()


async def test_a_catch_up_on_a_live_connection_remembers_nothing(
    pair: tuple[Handle, socket.socket],
) -> None:
    handle, peer = pair
    handle.go_live()
    again = str(uuid.uuid4())
    handle.replayed(again)
    assert handle.offer(Frame(message(again)))
    assert received(peer) == message(again)


class _ClosedByPeer:
    """A WebSocket whose peer has sent its close frame: the next read says so."""

    async def get_message(self) -> str:
        raise trio_websocket.ConnectionClosed(trio_websocket.CloseReason(1000, "bye"))


async def test_a_peer_that_closed_first_is_not_a_slow_consumer(
    pair: tuple[Handle, socket.socket],
) -> None:
    """After storms, 4009 closes were counted that no client saw: the client had closed, the
    server's queue for it was full, and the next frame was refused as a slow consumer's."""
    handle, _ = pair
    handle.go_live()
    while handle.offer(Frame(b"unread")):  # the client reads no more: its queue fills
        pass
    ws = cast(trio_websocket.WebSocketConnection, _ClosedByPeer())
    with trio.fail_after(5):
        await read_frames(handle, ws, cast(ReaderLinks, None), TokenBucket(1, 1, now=0.0))
    assert handle.closing  # the hub's refusal of its next frame counts no slow consumer
    assert not handle.send(b"a late reply")
    assert handle.close_code is None  # so the close is counted with the peer's code
