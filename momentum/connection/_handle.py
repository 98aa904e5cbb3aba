"""The hub's handle on one connection actor."""

from __future__ import annotations

import uuid

import trio

from ..protocol import CloseCode
from ..transport import WireStream


class Session:
    """One authenticated WebSocket connection, as the hub and the janitor see it.

    The connection actor owns it; the hub only reads it, delivers frames through it and asks
    it to close. `request_close` is the only way anyone else ends a connection: it records the
    close code and cancels the actor's work scope, and the actor then runs its close
    handshake itself.
    """

    __slots__ = (
        "close_code",
        "close_reason",
        "conn_id",
        "connected_at",
        "finished",
        "flush_pending",
        "held",
        "holds",
        "in_store",
        "last_activity",
        "last_held",
        "scope",
        "user_id",
        "username",
        "wire",
    )

    def __init__(
        self,
        conn_id: int,
        user_id: uuid.UUID,
        username: str,
        wire: WireStream,
        *,
        connected_at: str,
        now: float,
    ) -> None:
        self.conn_id = conn_id
        self.user_id = user_id
        self.username = username
        self.wire = wire
        self.connected_at = connected_at  # wall clock, for humans
        self.last_activity = now  # Trio clock, for the janitor
        self.close_code: int | None = None
        self.close_reason = ""
        self.scope: trio.CancelScope | None = None
        self.finished = False  # the actor has ended (a lost Leave is swept by the janitor)
        #: how many waits on the server (hub or store back-pressure) its reader is in, and
        #: when the last one ended: while the reader waits, trio-websocket reads no frames,
        #: pongs included, so a pong missing meanwhile proves nothing
        self.holds = 0
        self.last_held = -1.0
        self.flush_pending = False  # the hub buffered frames for it in the current batch
        #: frames the hub holds back while stored messages are replayed (None: live)
        self.held: list[bytes] | None = []
        #: set once every message routed to the user before this connection joined is stored
        self.in_store = trio.Event()

    def held_back_since(self, moment: float) -> bool:
        """Has the reader waited on the server at any time since `moment`?"""
        return self.holds > 0 or self.last_held >= moment

    def deliver(self, frame: bytes) -> bool:
        """Hand a pre-built frame to the connection; False if it must be closed (4009)."""
        return self.wire.send_frame_nowait(frame)

    def send_or_close(self, frame: bytes) -> bool:
        """`deliver`, closing a connection that cannot keep up (4009) instead of waiting."""
        if self.wire.send_frame_nowait(frame):
            return True
        self.close_slow_consumer()
        return False

    def close_slow_consumer(self) -> None:
        """Its outbound queue is full: forget the queued data and close it with 4009."""
        if self.close_code is None:
            self.wire.drop_queued_data()
            self.request_close(CloseCode.SLOW_CONSUMER, "slow consumer: outbound queue full")

    def request_close(self, code: int, reason: str) -> None:
        """Ask the connection actor to close with `code`; the first request wins.

        From now on the connection takes no more data frames, so its close frame is the last
        thing it sends."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
            self.wire.stop_data()
        if self.scope is not None:
            self.scope.cancel()

    def __repr__(self) -> str:
        return f"<Session {self.conn_id} user={self.user_id}>"
