"""What a connection keeps of wsproto once the upgrade is done.

wsproto's `WSConnection` keeps its HTTP handshake for the life of the connection: an h11
connection with its buffers and states, the upgrade request with its headers (the token
among them) and an event queue, about 3 KB that nothing reads again. `forget_handshake` puts
`Upgraded` in its place: the same four members trio-websocket uses, on the frame-level
`Connection` alone. trio-websocket's private `_wsproto` is read here and in the actor's
`_owed_close` only (the version is pinned in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Iterator

import trio_websocket
from wsproto.connection import Connection, ConnectionState
from wsproto.events import Event


class Upgraded:
    """wsproto's `WSConnection` after the upgrade, without the handshake (server side)."""

    __slots__ = ("_connection",)

    client = False

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @property
    def state(self) -> ConnectionState:
        return self._connection.state

    def send(self, event: Event) -> bytes:
        return self._connection.send(event)

    def receive_data(self, data: bytes | None) -> None:
        self._connection.receive_data(data)

    def events(self) -> Iterator[Event]:
        return self._connection.events()


def forget_handshake(ws: trio_websocket.WebSocketConnection) -> None:
    """Let go of wsproto's handshake state once `ws` is accepted (a no-op otherwise)."""
    connection = getattr(ws._wsproto, "connection", None)
    if isinstance(connection, Connection):
        ws._wsproto = Upgraded(connection)  # type: ignore[assignment]
