"""The wire: the front listener on the one port, request heads, and the streams handed to
the WebSocket connection (`WireStream`) and to hypercorn (`PrefixedStream`)."""

from ._front import (
    FrontConfig,
    HttpHandler,
    RefusalHandler,
    Spawn,
    WebSocketHandler,
    serve_front,
)
from ._head import HeadError, RequestHead, parse_head, read_head
from ._limits import ConnectionLimits, Refusal
from ._peer import TrustedProxies
from ._prefixed import PrefixedStream, close_when_idle
from ._stream import WireStream

__all__ = [
    "ConnectionLimits",
    "FrontConfig",
    "HeadError",
    "HttpHandler",
    "PrefixedStream",
    "Refusal",
    "RefusalHandler",
    "RequestHead",
    "Spawn",
    "TrustedProxies",
    "WebSocketHandler",
    "WireStream",
    "close_when_idle",
    "parse_head",
    "read_head",
    "serve_front",
]
