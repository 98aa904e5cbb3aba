"""Rooms: group conversations with members, offsets and history.

The records and their storage live in `momentum.storage`; this package holds the rules
that the HTTP API and the WebSocket protocol share.
"""

from ._access import max_payload, may_enter

__all__ = ["max_payload", "may_enter"]
