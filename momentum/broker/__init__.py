"""Brokers: how hubs reach each other's connections (in-process now; Redis is one more)."""

from ._base import (
    BROADCAST,
    PRESENCE,
    Broker,
    PresenceSink,
    RoomPresenceSink,
    room_topic,
    user_topic,
)
from ._local import LocalBroker

__all__ = [
    "BROADCAST",
    "PRESENCE",
    "Broker",
    "LocalBroker",
    "PresenceSink",
    "RoomPresenceSink",
    "room_topic",
    "user_topic",
]
