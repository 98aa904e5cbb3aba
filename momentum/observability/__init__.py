"""Observability: logs and Prometheus metrics."""

from ._logging import configure_logging, redact_text
from ._metrics import CONTENT_TYPE, Metrics

__all__ = ["CONTENT_TYPE", "Metrics", "configure_logging", "redact_text"]
