"""The SDK's error vocabulary: what a call can fail with, and why a client stopped."""

from __future__ import annotations


class MomentumError(Exception):
    """Every failure the SDK raises."""


class ServerUnreachable(MomentumError):
    """No answer at all: refused, unresolvable, timed out."""


class HttpError(MomentumError):
    """The server answered an HTTP request with an error status and (usually)
    `{"error": {code, message}}` (docs/api.md)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class HandshakeRefused(MomentumError):
    """The server answered the WebSocket upgrade with an HTTP error (docs/protocol.md)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"handshake refused: {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def retryable(self) -> bool:
        """429 (too many connections) and 503 (full, draining) may pass; 401/403 will not."""
        return self.status in (429, 503)


class RequestFailed(MomentumError):
    """The server refused a request (an `error` envelope, or an ack with `stored: false`).

    `code` is the server's error code (docs/protocol.md#error-codes), or `not_stored` for an
    ack that says `stored: false` with no error before it.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class RequestTimeout(MomentumError):
    """No answer from the server within the call's timeout (the request may still land)."""


class ClientClosed(MomentumError):
    """The client stopped for good (closed by the application, or a terminal reason)."""
