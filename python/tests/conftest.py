"""Fixtures shared by the test modules: a fresh worker with the test command module loaded."""

from __future__ import annotations

from typing import Iterator

import pytest
from harness import WorkerProcess


@pytest.fixture
def worker() -> Iterator[WorkerProcess]:
    with WorkerProcess() as proc:
        proc.ready()
        yield proc
