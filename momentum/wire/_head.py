"""Reading an HTTP/1.1 request head with a size limit and a deadline, to pick a handler.

The front listener only needs the method, the target and whether this is a WebSocket
upgrade; full parsing is left to trio-websocket (wsproto/h11) or hypercorn, which are given
the bytes read here again.
"""

from __future__ import annotations

from dataclasses import dataclass

import trio

_END = b"\r\n\r\n"
_CHUNK = 4096


@dataclass(frozen=True, slots=True)
class RequestHead:
    """The start of an HTTP request: what was read, and what it asks for."""

    raw: bytes
    method: str
    target: str
    upgrade_websocket: bool
    #: every header as sent (names lowercased); wsproto hides Host and Sec-WebSocket-Protocol
    headers: tuple[tuple[bytes, bytes], ...] = ()

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class HeadError(Exception):
    """The peer sent no usable request head in time; the connection is dropped."""


async def read_head(
    stream: trio.abc.ReceiveStream,
    *,
    limit: int,
    timeout: float,  # noqa: ASYNC109 - the deadline is the contract: drop slow heads
) -> RequestHead:
    """Read until the end of the request head; raise HeadError past `limit` bytes or `timeout`."""
    buffer = bytearray()
    with trio.move_on_after(timeout) as scope:
        while _END not in buffer:
            if len(buffer) > limit:
                raise HeadError(f"request head larger than {limit} bytes")
            try:
                chunk = await stream.receive_some(_CHUNK)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise HeadError("connection lost while reading the request head") from exc
            if not chunk:
                raise HeadError("connection closed before the request head ended")
            buffer += chunk
    if scope.cancelled_caught:
        raise HeadError(f"no complete request head within {timeout:g} s")
    end = buffer.index(_END)
    if end > limit:
        raise HeadError(f"request head larger than {limit} bytes")
    return parse_head(bytes(buffer), end)


def parse_head(raw: bytes, end: int) -> RequestHead:
    """Pick the method, target and upgrade flag out of a complete request head."""
    lines = raw[:end].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
        raise HeadError("malformed request line")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value.strip()))
    upgrade = any(n == b"upgrade" and b"websocket" in v.lower() for n, v in headers)
    return RequestHead(
        raw=raw,
        method=parts[0].decode("latin-1"),
        target=parts[1].decode("latin-1"),
        upgrade_websocket=upgrade,
        headers=tuple(headers),
    )
