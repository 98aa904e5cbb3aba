"""The seam between a hub and the other hubs of a cluster."""

from __future__ import annotations

from typing import Protocol

#: Everyone online.
BROADCAST = "broadcast"


def user_topic(user_id: object) -> str:
    """The topic of one user's connections (a personal topic; rooms will be another kind)."""
    return f"user:{user_id}"


class Broker(Protocol):
    """Carries pre-built frames to the hubs that hold a topic's subscribers.

    `publish` never blocks the hub: an implementation that talks to a network queues the
    frame and returns None (delivery count unknown); the in-process one delivers at once and
    returns how many local connections took the frame. A hub subscribes to a user's topic
    when that user's first connection joins it and unsubscribes after the last one leaves,
    so that a clustered broker routes only to the nodes that hold the recipients.
    """

    name: str

    def publish(self, topic: str, frame: bytes) -> int | None: ...

    def subscribe(self, topic: str) -> None: ...

    def unsubscribe(self, topic: str) -> None: ...
