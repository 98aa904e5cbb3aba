"""The SDK tests: the TypeScript SDK's need Node and sdk/js's dev dependencies (`npm ci`),
else they are skipped; the Python SDK's use the tools tests' server (a real server on port 0
with a real SQLite file)."""

from __future__ import annotations

import pytest

from tests.tools.conftest import server

from ._node import build_sdk, sdk_missing

__all__ = ["server"]


@pytest.fixture(scope="session")
def sdk_js() -> None:
    reason = sdk_missing()
    if reason is not None:
        pytest.skip(reason)
    build_sdk()
