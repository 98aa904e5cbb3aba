"""Raw WebSocket connections for the load tools (stress, benchmark), which count every frame
themselves: trio-websocket's connection as the SDK opens it, failures told apart the same way
(`HandshakeRefused`, `ConnectTimeout`, `ServerUnreachable`)."""

from __future__ import annotations

from ..sdk._errors import HandshakeRefused
from ..sdk._socket import ConnectTimeout
from ..sdk._socket import open_trio_websocket as open_ws

__all__ = ["ConnectTimeout", "HandshakeRefused", "open_ws"]
