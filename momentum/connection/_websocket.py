"""trio-websocket's server connection, with the client's control frames charged.

trio-websocket answers every ping by itself, inside its reader task, and a client's pongs
never reach the application: a client could send pings as fast as its link allows and the
rate limiter would never see one (870,800 pings in 8 s took a core). Here each ping or pong
from the client first asks `charge_control`: a ping refused there is not answered, and the
charge itself closes a sustained flood (4008), like a message flood.

It reaches into trio-websocket's private event handlers (pinned below 0.13, like
`_actor._owed_close`).
"""

from __future__ import annotations

from collections.abc import Callable

import trio
import trio_websocket
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import Ping, Pong


def _free() -> bool:
    return True


class ChargedConnection(trio_websocket.WebSocketConnection):
    """A server-side WebSocket whose client pings and pongs cost a `charge_control()`."""

    #: True: let this control frame through; False: over the rate, ignore it (set once the
    #: connection is admitted; until then control frames are free)
    charge_control: Callable[[], bool] = staticmethod(_free)

    async def _handle_ping_event(self, event: Ping) -> None:
        # A ping after the close frame is not answered either: wsproto refuses to send a
        # pong past OPEN, and the error would end this reader task.
        if self.charge_control() and self._wsproto.state is ConnectionState.OPEN:
            await super()._handle_ping_event(event)

    async def _handle_pong_event(self, event: Pong) -> None:
        # Always handled: the heartbeat waits for it. Unsolicited pongs still cost a token.
        self.charge_control()
        await super()._handle_pong_event(event)


async def wrap_server_stream(
    nursery: trio.Nursery, stream: trio.abc.Stream, *, max_message_size: int
) -> trio_websocket.WebSocketRequest:
    """trio-websocket's `wrap_server_stream`, making a `ChargedConnection`."""
    connection = ChargedConnection(
        stream,
        WSConnection(ConnectionType.SERVER),
        message_queue_size=1,
        max_message_size=max_message_size,
    )
    nursery.start_soon(connection._reader_task)
    return await connection._get_request()
