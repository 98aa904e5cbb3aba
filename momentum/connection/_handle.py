"""A connection's handle: what the hub, the store writer and the connection's own tasks use
to hand it frames and to ask it to close.

The connection actor owns its socket, its outbound queue (`WireStream`) and its close; this
handle is the narrow way in. While stored messages are replayed (a new connection), frames
handed to it are held back, in order and under the same bound, and released by `go_live`:
stored and live messages reach the client in order, and a pong or an ack never overtakes
the stored messages sent before it.

A message committed while the connection joins can be both read by the replay and routed
live (its publish follows its commit). The handle remembers the ids it replayed, and for
`REPLAYED_WINDOW` seconds after the replay it drops a live frame carrying one of them:
delivery stays at-least-once across reconnects, but one connection does not get the same
message twice from its own join.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable

import trio

from ..protocol import CloseCode, ErrorCode, Frame, WireFormat, encode_error, text_payload_offset
from ..wire import WireStream
from ._room_cursors import RoomCursors

#: How long after its replay a connection still drops live copies of replayed messages.
REPLAYED_WINDOW = 10.0
_ID_START = b'{"id":"'


class Handle:
    """One authenticated WebSocket connection (implements `hub.ConnectionHandle`)."""

    __slots__ = (
        "_catch_up_wanted",
        "_held",
        "_live",
        "_offered",
        "_replayed",
        "_replayed_until",
        "_stalls",
        "close_code",
        "close_reason",
        "conn_id",
        "connected_at",
        "finished",
        "last_activity",
        "last_pong",
        "last_stall_end",
        "lease",
        "on_catch_up",
        "on_error_sent",
        "on_room_gap",
        "peer_gone",
        "rooms",
        "scope",
        "token_id",
        "token_issued_ms",
        "token_session",
        "user_id",
        "username",
        "wants_presence",
        "wire",
        "wire_format",
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
        token_id: str = "",
        token_issued_ms: int = 0,
        token_session: str | None = None,
        wants_presence: bool = True,
        wire_format: WireFormat = WireFormat.JSON,
    ) -> None:
        self.conn_id = conn_id
        self.user_id = user_id
        self.username = username
        self.token_id = token_id  # the token it was opened with, for revocation
        self.token_issued_ms = token_issued_ms
        self.token_session = token_session
        self.wants_presence = wants_presence  # asked for presence frames at connect
        self.wire = wire
        self.wire_format = wire_format  # JSON or MessagePack, both ways (its subprotocol)
        self.connected_at = connected_at  # wall clock, for people
        self.last_activity = now  # Trio clock, for the janitor
        self.last_pong = -1.0  # Trio clock: the last pong to a server ping, for the heartbeat
        #: starts a catch-up from the store (set by the actor once it serves)
        self.on_catch_up: Callable[[], object] | None = None
        #: counts an error envelope sent, by code (the process's metrics; set by the actor)
        self.on_error_sent: Callable[[str], object] = lambda code: None
        self._catch_up_wanted = False
        self.lease: str | None = None  # its connection lease in a cluster
        self.close_code: int | None = None
        self.close_reason = ""
        #: the serve nursery's scope, cancelled by `close` (None until serving starts)
        self.scope: trio.CancelScope | None = None
        self.finished = False  # the actor has ended (a lost Leave is swept by the janitor)
        #: the reader saw the connection end (the peer's close frame, or its socket dropped)
        #: before any close of ours: frames it no longer takes are no slow consumer's
        self.peer_gone = False
        #: frames held back while stored messages are replayed (None: live); a `Frame` is
        #: encoded when released, once it is known not to be a replayed message
        self._held: list[Frame | bytes] | None = []
        self._live = trio.Event()  # set by `go_live`
        #: where the connection stands in each room it subscribes to (`_room_cursors`)
        self.rooms = RoomCursors(self.offer, wire.max_frames, self._room_gap)
        #: starts the recovery of a room whose gap does not fill (set by the actor)
        self.on_room_gap: Callable[[uuid.UUID], object] | None = None
        self._offered = False  # a frame was offered since the last flush
        #: ids of the stored messages replayed to it, until `_replayed_until` (Trio clock)
        self._replayed: set[str] | None = None
        self._replayed_until = 0.0
        #: how many waits on the server (the hub's mailbox, the store's backpressure) the
        #: reader is in, and when the last one ended: while the reader stalls, trio-websocket
        #: reads no frames, pongs included, so a pong missing meanwhile proves nothing
        self._stalls = 0
        self.last_stall_end = -1.0

    # -- frames in ----------------------------------------------------------------------------

    @property
    def closing(self) -> bool:
        """Asked to close, its peer gone, or its socket failed: it takes no more frames."""
        return self.close_code is not None or self.peer_gone or self.wire.broken

    def offer(self, frame: Frame) -> bool:
        """The hub's batched write (see `ConnectionHandle.offer`); False if not taken."""
        if self.close_code is not None:
            return False
        if self._replayed is not None and self._was_replayed(frame.json):
            return True  # this connection has it already
        held = self._held
        if held is not None:
            if len(held) >= self.wire.max_frames:
                return False
            held.append(frame)
            return True
        encoded = frame.encoded(self.wire_format)
        if self._offered:  # a later frame of this batch: coalesced, written by `flush`
            return self.wire.buffer_frame(encoded)
        self._offered = True  # the first: straight to the socket, as cheap as a write can be
        return self.wire.send_frame_nowait(encoded)

    def offer_room(self, room_id: uuid.UUID, offset: int, frame: Frame) -> bool:
        """The hub's batched write of a room message (see `ConnectionHandle.offer_room`)."""
        if self.close_code is not None:
            return False
        return self.rooms.offer(room_id, offset, frame)

    def drop_room(self, room_id: uuid.UUID) -> None:
        """The hub unsubscribed it from the room (see `ConnectionHandle.drop_room`)."""
        self.rooms.leave(room_id)

    def _room_gap(self, room_id: uuid.UUID) -> None:
        if self.on_room_gap is not None and not self.closing:
            with contextlib.suppress(RuntimeError):  # its nursery is closing
                self.on_room_gap(room_id)

    def flush(self) -> None:
        self._offered = False
        self.wire.flush_nowait()

    def reply(self, envelope: bytes) -> bool:
        """An envelope (JSON bytes) for this client only (a pong, an error, an ack), in its
        wire format: see `send`."""
        return self.send(self.wire_format.frame(envelope))

    def send(self, frame: bytes) -> bool:
        """One frame, in this connection's wire format, from anyone but the hub's batch, in
        order with everything else; a connection that cannot take it is closed as a slow
        consumer."""
        if self.close_code is not None:
            return False
        held = self._held
        if held is not None and len(held) < self.wire.max_frames:
            held.append(frame)
            return True
        if held is None and self.wire.send_frame_nowait(frame):
            return True
        if not self.closing:
            self.close(CloseCode.SLOW_CONSUMER, "slow consumer: outbound queue full")
        return False

    def send_error(
        self, code: ErrorCode, message: str, ref_id: str | None, room_id: uuid.UUID | None = None
    ) -> bool:
        """An `error` envelope to this client only (see `send`), counted by code."""
        self.on_error_sent(code.value)
        envelope = encode_error(
            code, message, ref_id=ref_id, to_user_id=self.user_id, room_id=room_id
        )
        return self.reply(envelope)

    def send_control(self, frame: bytes) -> bool:
        """A control frame (the heartbeat's ping): never held nor refused for room, in order
        with everything else; False if the socket is closed."""
        return self.wire.send_control_nowait(frame)

    # -- the replay of stored messages ------------------------------------------------------

    @property
    def replaying(self) -> bool:
        return self._held is not None

    def replayed(self, message_id: str) -> None:
        """The replay sent the stored message `message_id` (see the module's docstring)."""
        if self._held is None:
            return  # a catch-up on a live connection: at-least-once, nothing remembered
        if self._replayed is None:
            self._replayed = set()
        self._replayed.add(message_id)

    def go_live(self) -> None:
        """The stored messages are out: release the frames held meanwhile, then go live.

        The replay ends with the queue drained, so the held frames (at most the queue's
        bound) always fit."""
        held, self._held = self._held or [], None
        self._live.set()
        if self._replayed is not None:
            self._replayed_until = trio.current_time() + REPLAYED_WINDOW
            held = [f for f in held if not (isinstance(f, Frame) and self._was_replayed(f.json))]
        for frame in held:
            encoded = frame.encoded(self.wire_format) if isinstance(frame, Frame) else frame
            self.wire.buffer_frame(encoded)
        self.wire.flush_nowait()
        if self._catch_up_wanted:
            self.catch_up()

    async def wait_live(self) -> None:
        """Wait until the replay of stored direct messages is over (`go_live`)."""
        await self._live.wait()

    def catch_up(self) -> None:
        """Send the stored messages again (at-least-once: a live frame may have been lost
        between nodes); after the replay if it is still running, else now."""
        if self.closing:
            return
        if self.replaying or self.on_catch_up is None:
            self._catch_up_wanted = True
            return
        self._catch_up_wanted = False
        with contextlib.suppress(RuntimeError):  # its nursery is closing: it is going anyway
            self.on_catch_up()

    def _was_replayed(self, frame: bytes) -> bool:
        """Is `frame` (a JSON text frame) a message the replay sent? (The server encodes every
        envelope with its id first, in frames built by `text_frame`.) Past the window the ids
        are forgotten."""
        replayed = self._replayed
        if replayed is None:
            return False
        if self._held is None and trio.current_time() > self._replayed_until:
            self._replayed = None
            return False
        if len(frame) < 2:
            return False
        start = text_payload_offset(frame) + len(_ID_START)
        if frame[start - len(_ID_START) : start] != _ID_START:
            return False
        end = frame.find(b'"', start, start + 64)
        return end > 0 and frame[start:end].decode("ascii", "replace") in replayed

    # -- closing ------------------------------------------------------------------------------

    def close(self, code: int, reason: str) -> None:
        """Ask the connection actor to close with `code`; the first request wins.

        From now on it takes no more data frames, so its close frame is the last thing it
        sends. A slow consumer's queued frames are dropped: they would only delay the close.
        """
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
            if code == CloseCode.SLOW_CONSUMER:
                self.wire.drop_queued_data()
            self.wire.stop_data()
        if self.scope is not None:
            self.scope.cancel()

    # -- for the heartbeat ----------------------------------------------------------------------

    def pong_seen(self) -> None:
        """A pong to a server ping arrived (trio-websocket's reader calls it)."""
        self.last_pong = self.last_activity = trio.current_time()

    # -- the reader's stalls (for the heartbeat) ---------------------------------------------

    def stall_started(self) -> None:
        self._stalls += 1

    def stall_ended(self) -> None:
        self._stalls -= 1
        self.last_stall_end = trio.current_time()

    def stalled_since(self, moment: float) -> bool:
        """Has the reader waited on the server at any time since `moment`?"""
        return self._stalls > 0 or self.last_stall_end >= moment

    def __repr__(self) -> str:
        return f"<Handle {self.conn_id} user={self.user_id}>"
