"""The seam between a hub and the other hubs of a cluster."""

from __future__ import annotations

import uuid
from typing import Protocol

import trio

#: Everyone online.
BROADCAST = "broadcast"
#: The `kind` of presence frames (`user_joined` / `user_left`): published on `BROADCAST`,
#: delivered only to the connections that want presence.
PRESENCE = "presence"


def user_topic(user_id: object) -> str:
    """The topic of one user's connections (a personal topic)."""
    return f"user:{user_id}"


def room_topic(room_id: object) -> str:
    """The topic of one room's subscribers."""
    return f"room:{room_id}"


class Broker(Protocol):
    """Carries pre-built frames to the other nodes that hold a topic's subscribers.

    The hub delivers to its own connections itself and hands the broker only what must
    cross processes. Every method returns at once: a broker that talks to a network queues
    the work for its own tasks. The hub subscribes to a user's topic when the user's first
    connection joins it and unsubscribes after the last one leaves, so that a clustered
    broker routes only to the nodes that hold the recipients.
    """

    name: str

    def publish(self, topic: str, frame: bytes, kind: str, message_id: str = "") -> None:
        """`kind`: the message type (`PRESENCE` for presence frames), for the counters."""
        ...

    def subscribe(self, topic: str, routed: trio.Event) -> None:
        """Want `topic` (again: it is a set); set `routed` once frames published on it from
        then on reach this node."""
        ...

    def unsubscribe(self, topic: str) -> None: ...


class PresenceSink(Protocol):
    """Who hears of a user's first connection on this node and of its last one leaving.

    Without one, the hub announces those itself (one process is the whole cluster); a
    cluster decides whether the user came online or went offline anywhere first.
    """

    def user_online(self, user_id: uuid.UUID, username: str) -> None: ...

    def user_offline(self, user_id: uuid.UUID, username: str) -> None: ...


class RoomPresenceSink(Protocol):
    """Who hears of a user's first subscription to a room on this node and of its last one
    ending (a cluster: it decides whether the user came into or left the room anywhere)."""

    def room_online(self, room_id: uuid.UUID, user_id: uuid.UUID, username: str) -> None: ...

    def room_offline(self, room_id: uuid.UUID, user_id: uuid.UUID, username: str) -> None: ...
