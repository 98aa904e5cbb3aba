"""The HTTP API calls of the SDK (history, online users) and of the tools (login, stats…).

A handful of JSON requests, so a blocking stdlib request in `trio.to_thread` is enough: it
keeps the SDK free of an HTTP client dependency (httpx is a test-only dependency).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import trio

from ._errors import HttpError, MomentumError, ServerUnreachable

HTTP_TIMEOUT = 10.0


def base_url(server_url: str) -> str:
    """`server_url` checked (http or https, a host) and without a trailing slash."""
    parts = urllib.parse.urlsplit(server_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MomentumError(
            f"the server URL must be http://HOST:PORT or https://…, not {server_url!r}"
        )
    return server_url.rstrip("/")


def websocket_url(server_url: str) -> str:
    """The WebSocket endpoint of `server_url` (`http` → `ws`, `https` → `wss`, then `/ws`)."""
    parts = urllib.parse.urlsplit(base_url(server_url))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path}/ws"


async def request_json(
    method: str,
    url: str,
    *,
    body: Any = None,
    token: str | None = None,
    api_key: str | None = None,
) -> Any:
    """Send one request and return the decoded JSON answer; a MomentumError otherwise."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if api_key is not None:
        headers["X-API-Key"] = api_key
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    # The socket timeout bounds the thread's work; a trio deadline would only abandon it.
    return await trio.to_thread.run_sync(_send, request, HTTP_TIMEOUT, abandon_on_cancel=True)


def _send(request: urllib.request.Request, timeout: float) -> Any:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise _http_error(exc.code, exc.read()) from None
    except urllib.error.URLError as exc:
        reason = exc.reason.strerror if isinstance(exc.reason, OSError) else exc.reason
        raise ServerUnreachable(
            f"cannot reach {request.full_url}: {reason or exc.reason}"
        ) from None
    except (TimeoutError, ConnectionError) as exc:
        raise ServerUnreachable(f"cannot reach {request.full_url}: {exc}") from None
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise MomentumError(
            f"{request.full_url} answered with something that is not JSON"
        ) from None


def _http_error(status: int, raw: bytes) -> HttpError:
    try:
        error = json.loads(raw)["error"]
        return HttpError(status, str(error["code"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        return HttpError(status, "http_error", raw[:200].decode(errors="replace") or "no body")
