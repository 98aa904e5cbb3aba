"""Fixtures: a real server on port 0 with a real SQLite file (the server tests' helpers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.server._live import LiveServer, open_live_server, settings_for


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with open_live_server(settings_for(f"sqlite:///{tmp_path}/momentum.db")) as live:
        yield live
