"""The server fixture of the tools tests: a real server on port 0 with a real SQLite file."""

from tests.tools.conftest import server

__all__ = ["server"]
