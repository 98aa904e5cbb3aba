"""The HTTP admin API (Quart-Trio), served by hypercorn on the same port as `/ws`."""

from ._app import create_app
from ._services import Services
from ._throttling import hash_queue, throttles

__all__ = ["Services", "create_app", "hash_queue", "throttles"]
