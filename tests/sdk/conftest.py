"""The SDK tests need Node and sdk/js's dev dependencies (`npm ci`), else they are skipped."""

from __future__ import annotations

import pytest

from ._node import build_sdk, sdk_missing


@pytest.fixture(scope="session")
def sdk_js() -> None:
    reason = sdk_missing()
    if reason is not None:
        pytest.skip(reason)
    build_sdk()
