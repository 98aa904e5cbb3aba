"""Reading and parsing the HTTP request head that picks a connection's handler.

Rules of this module:
- Streams are in memory: ``trio.testing.memory_stream_one_way_pair`` for a live peer, and
  ``Chunks`` below when the exact chunking matters. No sockets.
- Time is Trio's: tests that let time pass take ``autojump_clock`` and assert exact times;
  none sleeps for real.
- Every async test runs under an outer ``trio.fail_after(TEST_DEADLINE)`` (virtual seconds
  where the autojump clock is used, so it is well above every timeout under test).
- Before asserting on what another task did, wait with ``wait_all_tasks_blocked()``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio
import trio.testing

from momentum.wire import HeadError, RequestHead, parse_head, read_head

TEST_DEADLINE = 60.0
LIMIT = 16 * 1024
TIMEOUT = 10.0

UPGRADE = (
    b"GET /ws?token=abc HTTP/1.1\r\n"
    b"Host: chat.example:8000\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)
PLAIN = b"GET /health HTTP/1.1\r\nHost: chat.example\r\n\r\n"


class Chunks(trio.abc.ReceiveStream):
    """Hands out the given chunks one per `receive_some`, then EOF (or blocks forever)."""

    def __init__(self, chunks: Sequence[bytes], *, then_block: bool = False) -> None:
        self._chunks = list(chunks)
        self._then_block = then_block
        self.reads = 0

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()
        self.reads += 1
        if self._chunks:
            return self._chunks.pop(0)
        if self._then_block:
            await trio.sleep_forever()
        return b""

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


class Broken(trio.abc.ReceiveStream):
    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()
        raise trio.BrokenResourceError("connection reset")

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


def head_of(raw: bytes) -> RequestHead:
    return parse_head(raw, raw.index(b"\r\n\r\n"))


# -- read_head ---------------------------------------------------------------------------


async def test_complete_head_in_one_read() -> None:
    with trio.fail_after(TEST_DEADLINE):
        head = await read_head(Chunks([UPGRADE]), limit=LIMIT, timeout=TIMEOUT)
    assert (head.raw, head.method, head.target) == (UPGRADE, "GET", "/ws?token=abc")
    assert head.upgrade_websocket
    assert head.headers == (
        (b"host", b"chat.example:8000"),
        (b"upgrade", b"websocket"),
        (b"connection", b"Upgrade"),
        (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
        (b"sec-websocket-version", b"13"),
    )


async def test_head_from_a_live_memory_stream() -> None:
    with trio.fail_after(TEST_DEADLINE):
        send, receive = trio.testing.memory_stream_one_way_pair()
        await send.send_all(PLAIN)
        head = await read_head(receive, limit=LIMIT, timeout=TIMEOUT)
    assert (head.method, head.target, head.upgrade_websocket) == ("GET", "/health", False)


async def test_head_split_byte_by_byte() -> None:
    with trio.fail_after(TEST_DEADLINE):
        stream = Chunks([UPGRADE[i : i + 1] for i in range(len(UPGRADE))])
        head = await read_head(stream, limit=LIMIT, timeout=TIMEOUT)
    assert head.raw == UPGRADE
    assert head.upgrade_websocket
    assert stream.reads == len(UPGRADE)


async def test_terminator_split_across_reads() -> None:
    with trio.fail_after(TEST_DEADLINE):
        stream = Chunks([PLAIN[:-3], PLAIN[-3:-1], PLAIN[-1:]])
        head = await read_head(stream, limit=LIMIT, timeout=TIMEOUT)
    assert head.raw == PLAIN


async def test_head_from_a_trickling_peer() -> None:
    with trio.fail_after(TEST_DEADLINE):
        send, receive = trio.testing.memory_stream_one_way_pair()
        result: list[RequestHead] = []

        async def reader() -> None:
            result.append(await read_head(receive, limit=LIMIT, timeout=TIMEOUT))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            for start in range(0, len(UPGRADE), 7):
                await send.send_all(UPGRADE[start : start + 7])
                await trio.testing.wait_all_tasks_blocked()
                assert result == [] or start + 7 >= len(UPGRADE)
    assert result[0].raw == UPGRADE


async def test_bytes_after_the_head_are_kept_for_replay() -> None:
    raw = b"POST /auth/login HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
    with trio.fail_after(TEST_DEADLINE):
        head = await read_head(Chunks([raw]), limit=LIMIT, timeout=TIMEOUT)
    assert head.raw == raw
    assert head.method == "POST"


async def test_head_at_the_limit_is_accepted_one_more_byte_is_not() -> None:
    base = b"GET / HTTP/1.1\r\nX-Pad: "
    fits = base + b"a" * (100 - len(base)) + b"\r\n\r\n"
    over = base + b"a" * (101 - len(base)) + b"\r\n\r\n"
    with trio.fail_after(TEST_DEADLINE):
        head = await read_head(Chunks([fits]), limit=100, timeout=TIMEOUT)
        assert head.raw == fits
        with pytest.raises(HeadError, match="larger than 100 bytes"):
            await read_head(Chunks([over]), limit=100, timeout=TIMEOUT)


async def test_endless_head_is_refused_once_past_the_limit() -> None:
    with trio.fail_after(TEST_DEADLINE):
        stream = Chunks([b"GET / HTTP/1.1\r\n"] + [b"X-Pad: " + b"a" * 90 + b"\r\n"] * 1000)
        with pytest.raises(HeadError, match="larger than 1024 bytes"):
            await read_head(stream, limit=1024, timeout=TIMEOUT)
    # It stopped reading soon after the limit rather than draining the peer.
    assert stream.reads <= 1024 // 90 + 3


async def test_never_ending_head_times_out_exactly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        send, receive = trio.testing.memory_stream_one_way_pair()
        await send.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        start = trio.current_time()
        with pytest.raises(HeadError, match="within 10 s"):
            await read_head(receive, limit=LIMIT, timeout=TIMEOUT)
        assert trio.current_time() == start + TIMEOUT


async def test_timeout_is_for_the_whole_head_not_per_read(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(TEST_DEADLINE):
        send, receive = trio.testing.memory_stream_one_way_pair()
        start = trio.current_time()

        async def slowloris() -> None:
            while True:
                await send.send_all(b"X-A: b\r\n")
                await trio.sleep(3)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(slowloris)
            with pytest.raises(HeadError, match="within 10 s"):
                await read_head(receive, limit=LIMIT, timeout=TIMEOUT)
            assert trio.current_time() == start + TIMEOUT
            nursery.cancel_scope.cancel()


async def test_silent_peer_times_out(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TEST_DEADLINE):
        start = trio.current_time()
        with pytest.raises(HeadError):
            await read_head(Chunks([], then_block=True), limit=LIMIT, timeout=2.5)
        assert trio.current_time() == start + 2.5


async def test_peer_closes_before_the_head_ends() -> None:
    with trio.fail_after(TEST_DEADLINE):
        send, receive = trio.testing.memory_stream_one_way_pair()
        await send.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        await send.aclose()
        with pytest.raises(HeadError, match="closed before"):
            await read_head(receive, limit=LIMIT, timeout=TIMEOUT)


async def test_peer_closes_without_sending_anything() -> None:
    with trio.fail_after(TEST_DEADLINE), pytest.raises(HeadError, match="closed before"):
        await read_head(Chunks([]), limit=LIMIT, timeout=TIMEOUT)


async def test_broken_connection_is_a_head_error() -> None:
    with trio.fail_after(TEST_DEADLINE), pytest.raises(HeadError, match="connection lost"):
        await read_head(Broken(), limit=LIMIT, timeout=TIMEOUT)


async def test_closed_stream_is_a_head_error() -> None:
    with trio.fail_after(TEST_DEADLINE):
        _, receive = trio.testing.memory_stream_one_way_pair()
        await receive.aclose()
        with pytest.raises(HeadError, match="connection lost"):
            await read_head(receive, limit=LIMIT, timeout=TIMEOUT)


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\n\r\n",
        b"GET / FTP/1.0\r\n\r\n",
        b"\r\n\r\n",
        b"GET  / HTTP/1.1\r\n\r\n",
    ],
)
async def test_malformed_request_line(raw: bytes) -> None:
    with trio.fail_after(TEST_DEADLINE), pytest.raises(HeadError, match="malformed"):
        await read_head(Chunks([raw]), limit=LIMIT, timeout=TIMEOUT)


# -- parse_head --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [b"Upgrade: websocket", b"upgrade:websocket", b"UPGRADE: WebSocket", b"Upgrade : websocket"],
)
def test_upgrade_detected_case_insensitively(header: bytes) -> None:
    assert head_of(b"GET /ws HTTP/1.1\r\n" + header + b"\r\n\r\n").upgrade_websocket


@pytest.mark.parametrize(
    "headers",
    [
        b"",
        b"Connection: Upgrade\r\n",
        b"Upgrade: h2c\r\n",
        b"X-Upgrade: websocket\r\n",
        b"Sec-WebSocket-Version: 13\r\n",
    ],
)
def test_no_upgrade(headers: bytes) -> None:
    assert not head_of(b"GET /ws HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n").upgrade_websocket


def test_headers_keep_order_and_repeats_with_names_lowercased_and_values_stripped() -> None:
    raw = (
        b"GET /ws HTTP/1.1\r\nHost:  a.example \r\nSec-WebSocket-Protocol: chat\r\n"
        b"sec-websocket-protocol:bearer.tok\r\nX-Empty:\r\n\r\n"
    )
    assert head_of(raw).headers == (
        (b"host", b"a.example"),
        (b"sec-websocket-protocol", b"chat"),
        (b"sec-websocket-protocol", b"bearer.tok"),
        (b"x-empty", b""),
    )


def test_body_is_not_parsed_as_headers() -> None:
    raw = b"POST /x HTTP/1.1\r\nHost: x\r\n\r\nX-Body: 1\r\n"
    assert head_of(raw).headers == ((b"host", b"x"),)


def test_upgrade_in_the_body_is_not_a_header() -> None:
    raw = b"POST /x HTTP/1.1\r\nHost: x\r\n\r\nUpgrade: websocket\r\n\r\n"
    assert not head_of(raw).upgrade_websocket


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("/ws", "/ws"),
        ("/ws?token=a.b.c", "/ws"),
        ("/ws?", "/ws"),
        ("/a/b?x=1?y=2", "/a/b"),
        ("/", "/"),
    ],
)
def test_path_without_query(target: str, path: str) -> None:
    head = head_of(f"GET {target} HTTP/1.1\r\n\r\n".encode())
    assert head.target == target
    assert head.path == path


def test_method_and_target_are_latin1() -> None:
    head = head_of(b"DELETE /caf\xe9 HTTP/1.0\r\n\r\n")
    assert (head.method, head.target) == ("DELETE", "/caf\xe9")
