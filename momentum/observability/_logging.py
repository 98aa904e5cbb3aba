"""Logging: human-readable or JSON lines, with tokens redacted from every record.

A line logged while a connection's actor runs carries its connection id, one logged while
an HTTP request is handled carries the request's id (`X-Request-Id`): context variables,
set once by the connection actor and by the app for each request, so every task they start
inherits them.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

import orjson

#: the WebSocket connection a log line is about (set by its actor)
connection_id: ContextVar[int | None] = ContextVar("momentum_connection_id", default=None)
#: the HTTP request a log line is about (set by the app for each request)
request_id: ContextVar[str | None] = ContextVar("momentum_request_id", default=None)

_TOKEN = re.compile(r"(?i)(token=|bearer[ .])[A-Za-z0-9._~+/=-]+")


def redact_text(text: str) -> str:
    """Hide anything that looks like a token in `?token=…`, `Bearer …` or `bearer.…`."""
    return _TOKEN.sub(lambda m: m.group(1) + "[REDACTED]", text)


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class _ContextFilter(logging.Filter):
    """Adds the connection and request ids (`record.context`, for the text format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        conn, req = connection_id.get(), request_id.get()
        record.connection_id, record.request_id = conn, req
        record.context = (f" [conn {conn}]" if conn is not None else "") + (
            f" [req {req}]" if req is not None else ""
        )
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in ("connection_id", "request_id"):
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Route every logger (ours, hypercorn's, trio-websocket's) to stderr in one format."""
    handler = log_handler(fmt, sys.stderr)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # trio-websocket logs every frame at DEBUG; keep it quiet unless asked for.
    logging.getLogger("trio-websocket").setLevel(max(root.level, logging.INFO))


def log_handler(fmt: str, stream: TextIO) -> logging.Handler:
    """A handler writing `fmt` ("text" or "json") lines to `stream`, tokens redacted."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(_RedactingFilter())
    handler.addFilter(_ContextFilter())
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        text = "%(asctime)s %(levelname)-7s %(name)s%(context)s: %(message)s"
        handler.setFormatter(logging.Formatter(text))
    return handler
