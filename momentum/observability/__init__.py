"""Observability: logs and Prometheus metrics."""

from ._activity import Activity, report_activity
from ._logging import configure_logging, connection_id, redact_text, request_id
from ._metrics import CONTENT_TYPE, Metrics

__all__ = [
    "CONTENT_TYPE",
    "Activity",
    "Metrics",
    "configure_logging",
    "connection_id",
    "redact_text",
    "report_activity",
    "request_id",
]
