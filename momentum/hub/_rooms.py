"""The hub's rooms: which of this node's connections subscribe to which room.

Owned by the hub's task like the rest of its state. The node wants a room's topic from the
broker while it holds at least one subscriber of the room, as it wants a user's topic while
it holds one of the user's connections. A room message reaches a connection through
`ConnectionHandle.offer_room`, with its offset, so that the connection can put the room's
messages in order and drop what it has already sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import trio

from ..broker import Broker, room_topic
from ..protocol import Frame
from ._handle import ConnectionHandle


class RoomRegistry:
    """Subscribers by room, and rooms by connection (to forget a closing connection)."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.subscribers: dict[uuid.UUID, dict[int, ConnectionHandle]] = {}
        self.by_conn: dict[int, set[uuid.UUID]] = {}

    def __len__(self) -> int:
        return len(self.subscribers)

    def join(self, handle: ConnectionHandle, room_id: uuid.UUID, routed: trio.Event) -> None:
        """Subscribe `handle` to the room; `routed` is set once the room's messages
        published anywhere from then on reach this node."""
        self.subscribers.setdefault(room_id, {})[handle.conn_id] = handle
        self.by_conn.setdefault(handle.conn_id, set()).add(room_id)
        self.broker.subscribe(room_topic(room_id), routed)

    def leave(self, handle: ConnectionHandle, room_id: uuid.UUID) -> None:
        mine = self.by_conn.get(handle.conn_id)
        if mine is not None:
            mine.discard(room_id)
            if not mine:
                del self.by_conn[handle.conn_id]
        here = self.subscribers.get(room_id)
        if here is None or here.pop(handle.conn_id, None) is None:
            return
        if not here:
            del self.subscribers[room_id]
            self.broker.unsubscribe(room_topic(room_id))

    def leave_all(self, handle: ConnectionHandle) -> None:
        """The connection has gone: out of every room it subscribed to."""
        for room_id in list(self.by_conn.get(handle.conn_id, ())):
            self.leave(handle, room_id)

    def deliver(
        self,
        room_id: uuid.UUID,
        offset: int,
        frame: Frame,
        offered: dict[int, ConnectionHandle],
        refused: Callable[[ConnectionHandle], None],
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
