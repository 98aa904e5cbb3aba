"""A client's settings, with the defaults the documentation gives."""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ._policy import SECONDS, Backoff
from ._socket import Connector, WireFormatName, open_websocket

#: Fetches a new access token (the application's, e.g. `POST /auth/refresh`).
RefreshToken = Callable[[], Awaitable[str]]


@dataclass(frozen=True)
class ClientOptions:
    """How a client behaves; every field has a default.

    - `refresh_token`: called `refresh_before` seconds before the token expires (or at half
      its remaining life if that is sooner), and after a close 4001 or a handshake refused
      for the token; the new token is handed to the server in-band. Without it a close 4001
      stops the client.
    - `reconnect`: False stops the client at the first connection lost or refused.
    - `request_timeout`: how long `send`, `publish`, `join`… wait for the server's answer,
      the time spent disconnected included.
    - `ack_interval`, `ack_batch`: received direct messages are acknowledged every
      `ack_interval` seconds, or as soon as `ack_batch` are waiting.
    - `events_buffer`: events held for the application before the reader waits for it.
    - `wire_format`: `"json"` (text frames, subprotocol `momentum`) or `"msgpack"` (binary
      MessagePack frames, subprotocol `momentum.msgpack`); the application sees the same
      events either way.
    - `connector`, `clock`, `rng`: the transport, the wall clock that token expiry is read
      against, and the jitter's random source (the operating system's by default, so no
      client's reconnect schedule can be predicted from another's; tests pass a seeded one).
    """

    refresh_token: RefreshToken | None = None
    refresh_before: float = 60 * SECONDS
    reconnect: bool = True
    backoff: Backoff = field(default_factory=Backoff)
    request_timeout: float = 10 * SECONDS
    ack_interval: float = 0.5 * SECONDS
    ack_batch: int = 200
    events_buffer: int = 256
    mailbox_size: int = 64
    wire_format: WireFormatName = "json"
    connector: Connector = open_websocket
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.SystemRandom)
