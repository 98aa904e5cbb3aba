"""The HTTP admin API (Quart-Trio), served by hypercorn on the same port as `/ws`."""

from ._app import create_app
from ._services import Services

__all__ = ["Services", "create_app"]
