"""Momentum's Python SDK: a client that stays connected, on Trio (docs/sdk-python.md).

```python
async with open_client("http://localhost:8000", token) as client:
    await client.wait_connected()
    await client.send(bob_id, {"content": "hi"})
    async for event in client.events:
        ...
```
"""

from ._auth import log_in, refresh_from
from ._client import Client, Published, Sent, open_client
from ._errors import (
    ClientClosed,
    HandshakeRefused,
    HttpError,
    MomentumError,
    RequestFailed,
    RequestTimeout,
    ServerUnreachable,
)
from ._events import (
    ConnectionState,
    Event,
    Message,
    OtherEnvelope,
    Presence,
    RoomJoined,
    RoomMessage,
    ServerError,
    StateChanged,
)
from ._options import ClientOptions, RefreshToken
from ._policy import Backoff
from ._socket import Connector, Socket, SocketClosed, open_websocket

__all__ = [
    "Backoff",
    "Client",
    "ClientClosed",
    "ClientOptions",
    "ConnectionState",
    "Connector",
    "Event",
    "HandshakeRefused",
    "HttpError",
    "Message",
    "MomentumError",
    "OtherEnvelope",
    "Presence",
    "Published",
    "RefreshToken",
    "RequestFailed",
    "RequestTimeout",
    "RoomJoined",
    "RoomMessage",
    "Sent",
    "ServerError",
    "ServerUnreachable",
    "Socket",
    "SocketClosed",
    "StateChanged",
    "log_in",
    "open_client",
    "open_websocket",
    "refresh_from",
]
