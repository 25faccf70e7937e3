from __future__ import annotations

from typing import Iterator

import pytest
from harness import WorkerProcess


@pytest.fixture
def worker() -> Iterator[WorkerProcess]:
    with WorkerProcess() as proc:
        proc.ready()
        yield proc
