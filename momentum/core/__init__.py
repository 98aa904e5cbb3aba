"""The actors of the messaging core: hub, connections, janitor, and what they exchange."""

from ._admission import Admitted, Gatekeeper, Refused, origin_allowed
from ._messages import (
    CloseAll,
    CloseUser,
    GetOnline,
    GetStats,
    HubMsg,
    OnlineUser,
    Publish,
)
from ._session import Session
from .connection import ConnectionConfig, ConnectionContext, serve_connection
from .hub import Hub, HubConfig, serve_hub
from .janitor import JanitorMsg, RunNow, serve_janitor

__all__ = [
    "Admitted",
    "CloseAll",
    "CloseUser",
    "ConnectionConfig",
    "ConnectionContext",
    "Gatekeeper",
    "GetOnline",
    "GetStats",
    "Hub",
    "HubConfig",
    "HubMsg",
    "JanitorMsg",
    "OnlineUser",
    "Publish",
    "Refused",
    "RunNow",
    "Session",
    "origin_allowed",
    "serve_connection",
    "serve_hub",
    "serve_janitor",
]
