"""Scale-out over Redis: many Momentum processes and hosts as one server (docs/cluster.md).

`RedisBroker` carries frames between the nodes' hubs; `Registry` keeps the cluster's shared
state (nodes, presence, leases). Without `REDIS_URL` none of this runs.
"""

from ._broker import BrokerSink, BrokerStatistics, RedisBroker
from ._node import ClusterNode, open_cluster, redis_client, room_revoke_command
from ._registry import NodeInfo, Registry
from ._room_roster import RoomRoster

__all__ = [
    "BrokerSink",
    "BrokerStatistics",
    "ClusterNode",
    "NodeInfo",
    "RedisBroker",
    "Registry",
    "RoomRoster",
    "open_cluster",
    "redis_client",
    "room_revoke_command",
]
