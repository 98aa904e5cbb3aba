"""Logging: human-readable or JSON lines, with tokens redacted from every record."""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime

import orjson

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


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Route every logger (ours, hypercorn's, trio-websocket's) to stderr in one format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RedactingFilter())
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # trio-websocket logs every frame at DEBUG; keep it quiet unless asked for.
    logging.getLogger("trio-websocket").setLevel(max(root.level, logging.INFO))
