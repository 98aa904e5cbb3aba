"""A socket stream that first gives back the request head the front listener already read."""

from __future__ import annotations

import trio


class PrefixedStream(trio.abc.HalfCloseableStream):
    """Gives `prefix` first, then reads from `stream`; writes go straight through.

    It exposes `.socket` like `trio.SocketStream` (hypercorn reads the peer address from it)
    and has no `do_handshake`, so hypercorn treats it as plain TCP.
    """

    __slots__ = ("_prefix", "_stream")

    def __init__(self, stream: trio.SocketStream, prefix: bytes) -> None:
        self._stream = stream
        self._prefix = prefix

    @property
    def socket(self) -> trio.socket.SocketType:
        return self._stream.socket

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self._prefix:
            head, self._prefix = self._prefix, b""
            await trio.lowlevel.checkpoint()
            return head
        return await self._stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()
