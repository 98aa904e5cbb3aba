"""PrefixedStream: the request head the front listener read, given back before the socket.

Rules of this module:
- A real ``socketpair()`` stands in for the TCP connection (PrefixedStream exposes ``.socket``).
- No time passes; every async test still runs under an outer ``trio.fail_after(TEST_DEADLINE)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from momentum.wire import PrefixedStream

TEST_DEADLINE = 5.0
HEAD = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


@asynccontextmanager
async def open_pair(prefix: bytes) -> AsyncIterator[tuple[PrefixedStream, trio.SocketStream]]:
    left, right = trio.socket.socketpair()
    stream = PrefixedStream(trio.SocketStream(left), prefix)
    peer = trio.SocketStream(right)
    try:
        yield stream, peer
    finally:
        await stream.aclose()
        await peer.aclose()


async def test_prefix_comes_first_then_the_socket() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair(HEAD) as (stream, peer):
            await peer.send_all(b"body")
            assert await stream.receive_some(4096) == HEAD
            assert await stream.receive_some(4096) == b"body"


async def test_prefix_is_replayed_whole_even_past_max_bytes() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair(HEAD) as (stream, _):
            assert await stream.receive_some(4) == HEAD


async def test_empty_prefix_reads_the_socket() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair(b"") as (stream, peer):
            await peer.send_all(b"abc")
            assert await stream.receive_some(10) == b"abc"


async def test_writes_and_eof_go_straight_through() -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with open_pair(HEAD) as (stream, peer):
            await stream.wait_send_all_might_not_block()
            await stream.send_all(b"HTTP/1.1 200 OK\r\n\r\n")
            await stream.send_eof()
            received = b""
            while chunk := await peer.receive_some(4096):
                received += chunk
            assert received == b"HTTP/1.1 200 OK\r\n\r\n"


async def test_socket_is_the_underlying_one() -> None:
    with trio.fail_after(TEST_DEADLINE):
        left, right = trio.socket.socketpair()
        inner = trio.SocketStream(left)
        stream = PrefixedStream(inner, b"")
        assert stream.socket is inner.socket
        await stream.aclose()
        assert left.fileno() == -1
        right.close()
