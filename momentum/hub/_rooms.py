"""The hub's rooms: which of this node's connections subscribe to which room.

Owned by the hub's task like the rest of its state. The node wants a room's topic from the
broker while it holds at least one subscriber of the room, as it wants a user's topic while
it holds one of the user's connections. A room message reaches a connection through
`ConnectionHandle.offer_room`, with its offset, so that the connection can put the room's
messages in order and drop what it has already sent.

It also keeps, per room, how many of a user's connections here subscribe (room presence:
the first one in and the last one out are reported to `RoomPresence`), and the end of each
subscription a room grant admitted (its `exp`, on Trio's clock): the hub's tick ends those
that are due, like a revocation (`room_unsubscribed`, reason `grant_expired`).
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable

import trio

from ..broker import Broker, room_topic
from ..protocol import Frame, room_frame_offset
from ._handle import ConnectionHandle
from ._room_presence import ROOM_PRESENCE, RoomPresence, unsubscribed_frame

Refused = Callable[[ConnectionHandle], None]


class RoomRegistry:
    """Subscribers by room, rooms by connection (to forget a closing connection), users
    by room, and the deadlines of the subscriptions grants admitted."""

    def __init__(self, broker: Broker, presence: RoomPresence) -> None:
        self.broker = broker
        self.presence = presence
        self.subscribers: dict[uuid.UUID, dict[int, ConnectionHandle]] = {}
        self.by_conn: dict[int, set[uuid.UUID]] = {}
        #: room → user → this node's connections of the user subscribed to it
        self.users: dict[uuid.UUID, dict[uuid.UUID, int]] = {}
        #: (room, connection) → Trio time its grant ends; in `_deadlines` as a heap too
        self.granted: dict[tuple[uuid.UUID, int], float] = {}
        self._deadlines: list[tuple[float, uuid.UUID, int]] = []

    def __len__(self) -> int:
        return len(self.subscribers)

    def join(
        self,
        handle: ConnectionHandle,
        room_id: uuid.UUID,
        routed: trio.Event,
        until: float | None = None,
    ) -> None:
        """Subscribe `handle` to the room; `routed` is set once the room's messages
        published anywhere from then on reach this node. `until`: a grant admitted it, up
        to that Trio time (None: membership or a public room, until it leaves)."""
        here = self.subscribers.setdefault(room_id, {})
        if handle.conn_id not in here:
            here[handle.conn_id] = handle
            self._count(room_id, handle, +1)
        self.by_conn.setdefault(handle.conn_id, set()).add(room_id)
        key = (room_id, handle.conn_id)
        if until is None:
            self.granted.pop(key, None)
        else:
            self.granted[key] = until
            heapq.heappush(self._deadlines, (until, room_id, handle.conn_id))
        self.broker.subscribe(room_topic(room_id), routed)

    def leave(self, handle: ConnectionHandle, room_id: uuid.UUID) -> None:
        mine = self.by_conn.get(handle.conn_id)
        if mine is not None:
            mine.discard(room_id)
            if not mine:
                del self.by_conn[handle.conn_id]
        self.granted.pop((room_id, handle.conn_id), None)
        here = self.subscribers.get(room_id)
        if here is None or here.pop(handle.conn_id, None) is None:
            return
        self._count(room_id, handle, -1)
        if not here:
            del self.subscribers[room_id]
            self.broker.unsubscribe(room_topic(room_id))

    def leave_all(self, handle: ConnectionHandle) -> None:
        """The connection has gone: out of every room it subscribed to."""
        for room_id in list(self.by_conn.get(handle.conn_id, ())):
            self.leave(handle, room_id)

    def _count(self, room_id: uuid.UUID, handle: ConnectionHandle, delta: int) -> None:
        """Count the user's connections in the room; report its first in, its last out."""
        users = self.users.setdefault(room_id, {})
        count = users.get(handle.user_id, 0) + delta
        if count > 0:
            users[handle.user_id] = count
        else:
            users.pop(handle.user_id, None)
            if not users:
                del self.users[room_id]
        if delta > 0 and count == 1:
            self.presence.joined(room_id, handle.user_id, handle.username)
        elif count == 0:
            self.presence.left(room_id, handle.user_id, handle.username)

    def online(self, room_id: uuid.UUID) -> dict[uuid.UUID, int]:
        """The users subscribed to the room here, with their number of connections."""
        return dict(self.users.get(room_id, {}))

    def revoke(
        self,
        room_id: uuid.UUID,
        user_id: uuid.UUID | None,
        reason: str,
        offered: dict[int, ConnectionHandle],
    ) -> int:
        """Unsubscribe, with a `room_unsubscribed` notice, the room's subscribers here: all
        of them (`user_id` None: the room is gone), or the user's that no grant admitted
        (its membership, or the public room, is what let them in). The count unsubscribed."""
        here = self.subscribers.get(room_id, {})
        gone = [
            handle
            for handle in here.values()
            if user_id is None
            or (handle.user_id == user_id and (room_id, handle.conn_id) not in self.granted)
        ]
        self._unsubscribe(room_id, gone, reason, offered)
        return len(gone)

    def expire(self, now: float, offered: dict[int, ConnectionHandle]) -> int:
        """End the subscriptions whose grant is past its `exp`; the count ended."""
        ended = 0
        while self._deadlines and self._deadlines[0][0] <= now:
            until, room_id, conn_id = heapq.heappop(self._deadlines)
            if self.granted.get((room_id, conn_id)) != until:
                continue  # left, or subscribed again since
            handle = self.subscribers[room_id][conn_id]
            self._unsubscribe(room_id, [handle], "grant_expired", offered)
            ended += 1
        return ended

    def tick(self, now: float, offered: dict[int, ConnectionHandle], refused: Refused) -> int:
        """The presence interval: end the grants that are due, announce room presence;
        the count of presence frames built."""
        self.expire(now, offered)
        announced = self.presence.flush()
        for room_id, envelope in announced:
            self.announce(room_id, Frame.of_envelope(envelope), offered, refused)
        return len(announced)

    def _unsubscribe(
        self,
        room_id: uuid.UUID,
        handles: list[ConnectionHandle],
        reason: str,
        offered: dict[int, ConnectionHandle],
    ) -> None:
        if not handles:
            return
        frame = unsubscribed_frame(room_id, reason)  # encoded once for all of them
        for handle in handles:
            self.leave(handle, room_id)
            handle.drop_room(room_id)
            if handle.offer(frame):
                offered[handle.conn_id] = handle

    def deliver(
        self,
        room_id: uuid.UUID,
        offset: int,
        frame: Frame,
        offered: dict[int, ConnectionHandle],
        refused: Refused,
    ) -> int:
        """Offer one room message to this node's subscribers of the room; the count taken.
        Those that take it join `offered` (flushed at the end of the hub's batch); those
        that cannot go to `refused`."""
        delivered = 0
        for conn_id, handle in self.subscribers.get(room_id, {}).items():
            if handle.offer_room(room_id, offset, frame):
                offered[conn_id] = handle
                delivered += 1
            else:
                refused(handle)
        return delivered

    def forward(
        self,
        room_id: uuid.UUID,
        frame: bytes,
        kind: str,
        offered: dict[int, ConnectionHandle],
        refused: Refused,
    ) -> int:
        """A frame another node published on the room's topic: a room message (in offset
        order) or a presence frame of the room (as it is)."""
        if kind != ROOM_PRESENCE:
            return self.deliver(room_id, room_frame_offset(frame), Frame(frame), offered, refused)
        return self.announce(room_id, Frame(frame), offered, refused)

    def announce(
        self,
        room_id: uuid.UUID,
        frame: Frame,
        offered: dict[int, ConnectionHandle],
        refused: Refused,
    ) -> int:
        """A frame outside the room's offsets (presence) to its subscribers here."""
        delivered = 0
        for conn_id, handle in self.subscribers.get(room_id, {}).items():
            if handle.offer(frame):
                offered[conn_id] = handle
                delivered += 1
            else:
                refused(handle)
        return delivered
