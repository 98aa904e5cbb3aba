"""The seam between a hub and the other hubs of a cluster."""

from __future__ import annotations

from typing import Protocol

#: Everyone online.
BROADCAST = "broadcast"


def user_topic(user_id: object) -> str:
    """The topic of one user's connections (a personal topic; rooms will be another kind)."""
    return f"user:{user_id}"


class Broker(Protocol):
    """Carries pre-built frames to the other nodes that hold a topic's subscribers.

    The hub delivers to its own connections itself and hands the broker only what must
    cross processes. Every method returns at once: a broker that talks to a network queues
    the work for its own tasks. The hub subscribes to a user's topic when the user's first
    connection joins it and unsubscribes after the last one leaves, so that a clustered
    broker routes only to the nodes that hold the recipients.
    """

    name: str

    def publish(self, topic: str, frame: bytes) -> None: ...

    def subscribe(self, topic: str) -> None: ...

    def unsubscribe(self, topic: str) -> None: ...
