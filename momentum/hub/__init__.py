"""The actors of the messaging core: hub, connections, janitor, and what they exchange."""

from ._admission import Admitted, Gatekeeper, Refused, origin_allowed
from ._messages import (
    CloseAll,
    Delivery,
    GetOnline,
    GetStats,
    HubMsg,
    OnlineUser,
    Publish,
    SetUserActive,
)
from ._session import Session
from .connection import ConnectionConfig, ConnectionContext, serve_connection
from .hub import Hub, HubConfig, serve_hub
from .janitor import JanitorMsg, Purge, RunNow, serve_janitor
from .persistence import Acknowledge, Barrier, Persist, PersistenceMsg, serve_persistence

__all__ = [
    "Acknowledge",
    "Admitted",
    "Barrier",
    "CloseAll",
    "ConnectionConfig",
    "ConnectionContext",
    "Delivery",
    "Gatekeeper",
    "GetOnline",
    "GetStats",
    "Hub",
    "HubConfig",
    "HubMsg",
    "JanitorMsg",
    "OnlineUser",
    "Persist",
    "PersistenceMsg",
    "Publish",
    "Purge",
    "Refused",
    "RunNow",
    "Session",
    "SetUserActive",
    "origin_allowed",
    "serve_connection",
    "serve_hub",
    "serve_janitor",
    "serve_persistence",
]
