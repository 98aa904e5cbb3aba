"""Rooms: group conversations with members, offsets and history.

The records and their storage live in `momentum.storage`; this package holds what the HTTP
API and the WebSocket protocol share: who may enter a room, how large its messages may be,
a room message's envelope, and the room requests a client sends.
"""

from ._access import max_payload, may_enter
from ._envelopes import room_envelope
from ._requests import (
    MAX_ROOMS_PER_REQUEST,
    PUBLISH_TYPES,
    Publication,
    RequestError,
    grant_token,
    publication,
    subscriptions,
    unsubscriptions,
)

__all__ = [
    "MAX_ROOMS_PER_REQUEST",
    "PUBLISH_TYPES",
    "Publication",
    "RequestError",
    "grant_token",
    "max_payload",
    "may_enter",
    "publication",
    "room_envelope",
    "subscriptions",
    "unsubscriptions",
]
