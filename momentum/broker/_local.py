"""The in-process broker: one process is the whole cluster, so nothing crosses."""

from __future__ import annotations

import trio


class LocalBroker:
    """No other node: publishing and subscribing have nothing to do."""

    name = "local"

    def publish(self, topic: str, frame: bytes, kind: str, message_id: str = "") -> None:
        """Nothing to do: the hub has delivered to every connection there is."""

    def subscribe(self, topic: str, routed: trio.Event) -> None:
        """Nothing to subscribe to: every frame published here is routed here already."""
        routed.set()

    def unsubscribe(self, topic: str) -> None:
        """Nothing to do: the hub already knows its own users."""
