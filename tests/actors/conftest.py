"""Fixtures shared by the actors tests (package ``tests.actors``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio


def _count_tasks(task: trio.lowlevel.Task) -> int:
    return 1 + sum(_count_tasks(child) for n in task.child_nurseries for child in n.child_tasks)


@pytest.fixture
def count_tasks() -> Callable[[], int]:
    """Count every live task of the current Trio run, to prove none is left behind."""

    def count() -> int:
        root = trio.lowlevel.current_root_task()
        assert root is not None
        return _count_tasks(root)

    return count
