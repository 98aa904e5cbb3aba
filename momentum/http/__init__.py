"""The HTTP admin API (Quart-Trio), served by hypercorn on the same port as `/ws`."""

from ._app import create_app
from ._services import ACTOR_CALL_TIMEOUT, Services

__all__ = ["ACTOR_CALL_TIMEOUT", "Services", "create_app"]
