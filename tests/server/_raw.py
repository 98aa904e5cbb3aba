"""A raw WebSocket client over a plain Trio socket, for peers that misbehave on purpose.

trio-websocket's client always answers pings and always reads; this one does only what the
test says: it can stay silent, stop reading, or write bytes no library would.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
from dataclasses import dataclass

import trio


@dataclass
class Frame:
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int | None:
        if self.opcode != 0x8 or len(self.payload) < 2:
            return None
        code: int = struct.unpack("!H", self.payload[:2])[0]
        return code


class RawClient:
    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self._buffer = bytearray()

    async def handshake(self, port: int, token: str, *, extra: str = "") -> bytes:
        """Send an upgrade request; return the response head (status line and headers)."""
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
        await self.stream.send_all(request.encode())
        while b"\r\n\r\n" not in self._buffer:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                raise EOFError("closed during the handshake")
            self._buffer += chunk
        end = self._buffer.index(b"\r\n\r\n") + 4
        head = bytes(self._buffer[:end])
        del self._buffer[:end]
        return head

    async def send_frame(self, opcode: int, payload: bytes) -> None:
        """A masked, final frame, as a client must send it."""
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
        await self.stream.send_all(header + mask + masked)

    async def read_frame(self) -> Frame | None:
        """The next server frame, or None at end of stream."""
        while True:
            frame = self._parse()
            if frame is not None:
                return frame
            if not await self.fill():
                return None

    async def fill(self) -> bool:
        """Read what the server sent next into the buffer; False at the end of the stream."""
        try:
            chunk = await self.stream.receive_some(65536)
        except trio.BrokenResourceError:
            return False
        self._buffer += chunk
        return bool(chunk)

    async def read_until_close(self) -> Frame | None:
        """Skip data and ping frames (never answering) until a close frame or the end."""
        while True:
            frame = await self.read_frame()
            if frame is None or frame.opcode == 0x8:
                return frame

    def _parse(self) -> Frame | None:
        buf = self._buffer
        if len(buf) < 2:
            return None
        opcode, size, offset = buf[0] & 0x0F, buf[1] & 0x7F, 2
        if size == 126:
            if len(buf) < 4:
                return None
            size, offset = struct.unpack("!H", buf[2:4])[0], 4
        elif size == 127:
            if len(buf) < 10:
                return None
            size, offset = struct.unpack("!Q", buf[2:10])[0], 10
        if len(buf) < offset + size:
            return None
        payload = bytes(buf[offset : offset + size])
        del buf[: offset + size]
        return Frame(opcode, payload)


async def open_raw(port: int, *, rcvbuf: int | None = None, source: str = "127.0.0.1") -> RawClient:
    """Connect to 127.0.0.1:port from `source` (any 127.x.y.z address: Linux routes all of
    127/8 to loopback, so a test can be many clients); `rcvbuf` shrinks the receive buffer
    (a slow reader)."""
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    await sock.bind((source, 0))
    await sock.connect(("127.0.0.1", port))
    return RawClient(trio.SocketStream(sock))


@dataclass
class Answer:
    """An HTTP response read off a raw socket."""

    status: int
    headers: dict[bytes, bytes]
    body: bytes


async def http_request(raw: RawClient, path: str, *, keep_alive: bool = False) -> Answer | None:
    """Send `GET path` and read the response (None: the server closed without one)."""
    connection = "keep-alive" if keep_alive else "close"
    request = f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: {connection}\r\n\r\n"
    try:
        await raw.stream.send_all(request.encode())
    except trio.BrokenResourceError:
        return None
    buffer = raw._buffer
    while b"\r\n\r\n" not in buffer:
        if not await raw.fill():
            return None
    end = buffer.index(b"\r\n\r\n")
    lines = bytes(buffer[:end]).split(b"\r\n")
    del buffer[: end + 4]
    headers = dict(line.lower().split(b": ", 1) for line in lines[1:])
    size = int(headers.get(b"content-length", b"0"))
    while len(buffer) < size and await raw.fill():
        pass
    body = bytes(buffer[:size])
    del buffer[:size]
    return Answer(int(lines[0].split(b" ")[1]), headers, body)


async def refused_counts(port: int) -> dict[str, float]:
    """momentum_connections_refused_total by reason, asked from an address of its own (so
    that the question is not refused too)."""
    raw = await open_raw(port, source="127.0.0.200")
    async with raw.stream:
        answer = await http_request(raw, "/metrics")
    assert answer is not None and answer.status == 200
    counts = {}
    for line in answer.body.decode().splitlines():
        if line.startswith("momentum_connections_refused_total{"):
            reason = line.split('reason="', 1)[1].split('"', 1)[0]
            counts[reason] = float(line.rsplit(" ", 1)[1])
    return counts
