"""A socket stream that first gives back the request head the front listener already read."""

from __future__ import annotations

import trio


class PrefixedStream(trio.abc.HalfCloseableStream):
    """Gives `prefix` first, then reads from `stream`; writes go straight through.

    It exposes `.socket` like `trio.SocketStream` (hypercorn reads the peer address from it)
    and has no `do_handshake`, so hypercorn treats it as plain TCP.
    """

    __slots__ = ("_prefix", "_stream", "last_io")

    def __init__(self, stream: trio.SocketStream, prefix: bytes) -> None:
        self._stream = stream
        self._prefix = prefix
        #: Trio time of the last byte received or sent (for the idle timeout)
        self.last_io = trio.current_time()

    @property
    def socket(self) -> trio.socket.SocketType:
        return self._stream.socket

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self._prefix:
            head, self._prefix = self._prefix, b""
            await trio.lowlevel.checkpoint()
            return head
        data = await self._stream.receive_some(max_bytes)
        self.last_io = trio.current_time()
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)
        self.last_io = trio.current_time()

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        # hypercorn closes a connection (send_eof, then aclose) in whichever task ends it,
        # and Quart-Trio cancels the task that sent a response as soon as it is sent: the
        # close stopped at its first checkpoint, and a `Connection: close` answer left the
        # socket open until the idle timeout. Neither call blocks, so shielding is safe.
        with trio.CancelScope(shield=True):
            await self._stream.send_eof()

    async def aclose(self) -> None:
        with trio.CancelScope(shield=True):
            await self._stream.aclose()


async def close_when_idle(stream: PrefixedStream, idle: float, scope: trio.CancelScope) -> None:
    """Cancel `scope` (the HTTP connection's) once no byte has moved for `idle` seconds.

    The HTTP server's own keep-alive timer does not fire in every case (a connection kept
    alive after a response could stay open for ever), so this bounds every HTTP connection:
    kept alive, sending nothing, or answering too slowly."""
    while True:
        await trio.sleep_until(stream.last_io + idle)
        if trio.current_time() >= stream.last_io + idle:
            scope.cancel()
            return
