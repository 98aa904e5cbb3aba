"""The connection actor: one per WebSocket, from the upgrade to the closed socket."""

from ._actor import ConnectionConfig, ConnectionContext, serve_connection
from ._admission import Admitted, Gatekeeper, origin_allowed
from ._handle import Handle
from ._heartbeat import HEARTBEAT_MAILBOX, Extend, Forget, HeartbeatMsg, Watch, serve_heartbeat
from ._reader import MAX_ACK_IDS
from ._replay import BARRIER_WAIT, REPLAY_PAGE

__all__ = [
    "BARRIER_WAIT",
    "HEARTBEAT_MAILBOX",
    "MAX_ACK_IDS",
    "REPLAY_PAGE",
    "Admitted",
    "ConnectionConfig",
    "ConnectionContext",
    "Extend",
    "Forget",
    "Gatekeeper",
    "Handle",
    "HeartbeatMsg",
    "Watch",
    "origin_allowed",
    "serve_connection",
    "serve_heartbeat",
]
