"""Brokers: how hubs reach each other's connections (in-process now; Redis is one more)."""

from ._base import BROADCAST, Broker, PresenceSink, RoomPresenceSink, room_topic, user_topic
from ._local import LocalBroker

__all__ = [
    "BROADCAST",
    "Broker",
    "LocalBroker",
    "PresenceSink",
    "RoomPresenceSink",
    "room_topic",
    "user_topic",
]
