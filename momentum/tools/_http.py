"""The tools' HTTP calls and errors: the SDK's (`momentum.sdk`), with the flags' wording.

The tools make a handful of HTTP calls (login, register, online, stats, provisioning)
through the SDK's `request_json`; a tool's failure is an SDK error, reported in one line.
"""

from __future__ import annotations

import urllib.parse

from ..sdk._errors import HttpError, MomentumError, ServerUnreachable
from ..sdk._http import base_url as _sdk_base_url
from ..sdk._http import request_json

#: A failure the tools report in one line and stop on (the SDK's errors are such failures).
ToolError = MomentumError


def base_url(server_url: str) -> str:
    """`server_url` checked (http or https, a host) and without a trailing slash."""
    try:
        return _sdk_base_url(server_url)
    except MomentumError:
        raise ToolError(
            f"--server-url must be http://HOST:PORT or https://…, not {server_url!r}"
        ) from None


def ws_url(server_url: str, token: str) -> str:
    """The WebSocket endpoint of `server_url`, with the token in the query (the documented form)."""
    parts = urllib.parse.urlsplit(base_url(server_url))
    scheme = "wss" if parts.scheme == "https" else "ws"
    query = urllib.parse.urlencode({"token": token})
    return f"{scheme}://{parts.netloc}{parts.path}/ws?{query}"


__all__ = ["HttpError", "ServerUnreachable", "ToolError", "base_url", "request_json", "ws_url"]
