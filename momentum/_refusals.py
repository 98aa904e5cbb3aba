"""What a client is told when the front listener refuses its connection, and the count.

The front (`wire`) only says why (`Refusal`); the answer — a status and the JSON error body
every handshake refusal and HTTP error has (docs/protocol.md, docs/api.md) — is written here.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from .observability import Metrics
from .protocol import ErrorCode
from .wire import Refusal

_REASONS = {429: "Too Many Requests", 503: "Service Unavailable"}

_ANSWERS: dict[Refusal, tuple[int, ErrorCode, str]] = {
    Refusal.WEBSOCKET_PER_IP: (
        429,
        ErrorCode.TOO_MANY_CONNECTIONS,
        "too many WebSocket connections from your address (WS_MAX_CONNECTIONS_PER_IP)",
    ),
    Refusal.HTTP_PER_IP: (
        429,
        ErrorCode.TOO_MANY_CONNECTIONS,
        "too many HTTP connections from your address (HTTP_MAX_CONNECTIONS_PER_IP)",
    ),
    Refusal.HTTP_FULL: (
        503,
        ErrorCode.SERVER_FULL,
        "the server has no room for more HTTP connections (HTTP_MAX_CONNECTIONS)",
    ),
}


def http_answer(status: int, code: ErrorCode, message: str) -> bytes:
    """A complete HTTP/1.1 response with the JSON error body, closing the connection."""
    body = orjson.dumps({"error": {"code": code.value, "message": message}})
    head = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Retry-After: 1\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def refusal_answers(metrics: Metrics) -> Callable[[Refusal], bytes | None]:
    """The front's `on_refused`: count each refusal; answer those that sent a request."""
    answers = {refusal: http_answer(*answer) for refusal, answer in _ANSWERS.items()}

    def on_refused(refusal: Refusal) -> bytes | None:
        metrics.connection_refused(refusal.value)
        return answers.get(refusal)

    return on_refused
