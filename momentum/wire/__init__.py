"""Transport: the front listener, request heads, and the streams handed to protocol handlers."""

from ._front import FrontConfig, HttpHandler, Spawn, WebSocketHandler, serve_front
from ._head import HeadError, RequestHead, parse_head, read_head
from ._replay import ReplayStream
from ._wire import WireStream

__all__ = [
    "FrontConfig",
    "HeadError",
    "HttpHandler",
    "ReplayStream",
    "RequestHead",
    "Spawn",
    "WebSocketHandler",
    "WireStream",
    "parse_head",
    "read_head",
    "serve_front",
]
