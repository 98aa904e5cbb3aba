"""How topics, frames and control messages look on Redis.

Every channel and key Momentum uses starts with `momentum:`, so one Redis can serve other
applications too. A topic's channel is `momentum:<topic>` (`momentum:user:<id>`,
`momentum:broadcast`); `momentum:control` carries cluster commands (a user disabled, a
cleanup); `momentum:probe:<node>` is each node's own health probe.

A frame crosses as `<origin node> <kind> <message id> <frame bytes>`: the origin lets a node
drop what it published itself (it delivered those locally already), the kind is the message
type (for the counters), the message id (`-` when there is none) names a direct message in
the logs of every node it crossed.
"""

from __future__ import annotations

PREFIX = "momentum:"
CONTROL = PREFIX + "control"
NODES = PREFIX + "nodes"
ONLINE = PREFIX + "online"


def channel(topic: str) -> str:
    return PREFIX + topic


def topic_of(channel_name: str) -> str:
    return channel_name.removeprefix(PREFIX)


def probe_channel(node_id: str) -> str:
    return f"{PREFIX}probe:{node_id}"


def node_key(node_id: str) -> str:
    """The node's heartbeat record (JSON, expires with the node's TTL)."""
    return f"{PREFIX}node:{node_id}"


def node_users_key(node_id: str) -> str:
    """The users online on one node: user id → `username\\tconnections\\tconnected since`."""
    return f"{PREFIX}node:{node_id}:users"


def leases_key(user_id: object) -> str:
    """One user's connection leases across the cluster: `<node>:<conn>` members."""
    return f"{PREFIX}leases:{user_id}"


def room_online_key(room_id: object) -> str:
    """The users subscribed to one room on any node: user id → number of nodes."""
    return f"{PREFIX}room:{room_id}:online"


def pack(origin: bytes, kind: str, message_id: str, frame: bytes) -> bytes:
    return b"%s %s %s %s" % (origin, kind.encode(), (message_id or "-").encode(), frame)


def unpack(payload: bytes) -> tuple[bytes, str, str, bytes]:
    """(origin, kind, message id, frame); ValueError if it is not a frame of ours."""
    origin, kind, message_id, frame = payload.split(b" ", 3)
    return origin, kind.decode(), message_id.decode(), frame
