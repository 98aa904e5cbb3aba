"""The `momentum` command: serve, users (client and stress come with their issue)."""

from ._main import main

__all__ = ["main"]
