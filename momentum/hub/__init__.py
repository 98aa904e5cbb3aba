"""The hub: registry of connections, routing, presence, and what its mailbox carries."""

from ._counters import HubStats
from ._handle import ConnectionHandle
from ._hub import DISABLED_MEMORY, Hub, HubConfig
from ._messages import (
    CatchUp,
    CloseAll,
    Delivery,
    Forward,
    GetOnline,
    GetStats,
    HubMsg,
    Join,
    Leave,
    OnlineUser,
    Publish,
    Refused,
    Release,
    ReplayGate,
    Reserve,
    RevokeTokens,
    SetUserActive,
    Sweep,
    Tick,
    publish,
)
from ._serve import serve_hub

__all__ = [
    "DISABLED_MEMORY",
    "CatchUp",
    "CloseAll",
    "ConnectionHandle",
    "Delivery",
    "Forward",
    "GetOnline",
    "GetStats",
    "Hub",
    "HubConfig",
    "HubMsg",
    "HubStats",
    "Join",
    "Leave",
    "OnlineUser",
    "Publish",
    "Refused",
    "Release",
    "ReplayGate",
    "Reserve",
    "RevokeTokens",
    "SetUserActive",
    "Sweep",
    "Tick",
    "publish",
    "serve_hub",
]
