"""A TCP proxy whose open connections can be made to go silent, for tests of a Redis that
stops answering without closing anything (a partition, a failover behind the same address).
"""

from __future__ import annotations

import trio


class SilentProxy:
    """Forwards 127.0.0.1:`port` to `target_port`; `silence()` swallows, from then on, every
    byte of the connections open at that moment (their sockets stay open). New
    connections are forwarded normally."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.connections = 0
        self._generation = 0

    def silence(self) -> None:
        self._generation += 1

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._relay, listeners)

    async def _relay(self, client: trio.SocketStream) -> None:
        self.connections += 1
        generation = self._generation
        server = await trio.open_tcp_stream("127.0.0.1", self.target_port)
        async with client, server, trio.open_nursery() as nursery:
            nursery.start_soon(self._pump, client, server, generation)
            nursery.start_soon(self._pump, server, client, generation)

    async def _pump(
        self, source: trio.SocketStream, sink: trio.SocketStream, generation: int
    ) -> None:
        try:
            async for chunk in source:
                if generation == self._generation:
                    await sink.send_all(chunk)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        await sink.aclose()
