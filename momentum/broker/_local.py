"""The in-process broker: one process is the whole cluster."""

from __future__ import annotations

from collections.abc import Callable


class LocalBroker:
    """Delivers through the local hub's `sink(topic, frame) -> deliveries` at once."""

    name = "local"

    def __init__(self, sink: Callable[[str, bytes], int]) -> None:
        self._sink = sink

    def publish(self, topic: str, frame: bytes) -> int:
        return self._sink(topic, frame)

    def subscribe(self, topic: str) -> None:
        """Nothing to do: the local hub already knows its own users."""

    def unsubscribe(self, topic: str) -> None:
        """Nothing to do: the local hub already knows its own users."""
