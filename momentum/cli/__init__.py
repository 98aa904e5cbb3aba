"""The `momentum` command: serve, users, client, stress."""

from ._main import main

__all__ = ["main"]
