"""Observability: logs and Prometheus metrics."""

from ._activity import Activity, report_activity
from ._logging import configure_logging, redact_text
from ._metrics import CONTENT_TYPE, Metrics

__all__ = [
    "CONTENT_TYPE",
    "Activity",
    "Metrics",
    "configure_logging",
    "redact_text",
    "report_activity",
]
