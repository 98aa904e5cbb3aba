"""What the hub holds of a connection: who it is, and a narrow way to hand it frames.

The connection actor owns its socket, its outbound queue and its close; the hub reaches
them only through these verbs. Tests give the hub fake handles.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from ..protocol import Frame


class ConnectionHandle(Protocol):
    """One open connection, as the hub sees it."""

    @property
    def conn_id(self) -> int: ...

    @property
    def user_id(self) -> uuid.UUID: ...

    @property
    def username(self) -> str: ...

    @property
    def connected_at(self) -> str:
        """Wall-clock time of the connect, ISO 8601 (for people)."""
        ...

    @property
    def last_activity(self) -> float:
        """Trio time of the last frame or pong from the client (for the janitor)."""
        ...

    @property
    def wants_presence(self) -> bool:
        """It gets `user_joined` / `user_left` frames (asked for at connect)."""
        ...

    @property
    def finished(self) -> bool:
        """The connection actor has ended (its `Leave` may have been lost)."""
        ...

    @property
    def token_id(self) -> str:
        """The `jti` of the token the connection was opened with."""
        ...

    @property
    def token_session(self) -> str | None:
        """The session (`sid`) of that token, if it has one."""
        ...

    @property
    def token_issued_ms(self) -> int:
        """When that token was issued (epoch milliseconds)."""
        ...

    @property
    def closing(self) -> bool:
        """A close was asked for, or the socket failed: it takes no more frames."""
        ...

    def offer(self, frame: Frame) -> bool:
        """Take one pre-built frame (in the connection's wire format, each format encoded
        once for every receiver); False if it cannot (closing, or its queue is full).

        The first frame since the last `flush` may be written at once; later ones wait for
        `flush`, so that a batch costs one write per connection. Never blocks.
        """
        ...

    def offer_room(self, room_id: uuid.UUID, offset: int, frame: Frame) -> bool:
        """Take one message of a room the connection subscribes to, numbered `offset`: like
        `offer`; the connection sends the room's messages in offset order, once each."""
        ...

    def drop_room(self, room_id: uuid.UUID) -> None:
        """The hub unsubscribed the connection from the room (a revocation, an expired
        grant): forget where it stood there; its notice follows through `offer`."""
        ...

    def flush(self) -> None:
        """Write what the frames offered since the last flush left queued, without waiting."""
        ...

    def close(self, code: int, reason: str) -> None:
        """Ask the connection to close with `code` (the first request wins)."""
        ...

    def catch_up(self) -> None:
        """Send the user's stored messages again (what a lost live frame may have missed)."""
        ...
