"""Dying with the parent: PR_SET_PDEATHSIG on Linux, and a getppid() watch everywhere as the fallback."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from typing import Callable

PR_SET_PDEATHSIG = 1


def install_parent_death_signal() -> bool:
    """Asks Linux to SIGKILL this process when its parent dies. False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def watch_parent(on_orphaned: Callable[[], None], interval_s: float = 1.0) -> threading.Thread | None:
    """Calls `on_orphaned` once when getppid() changes (the parent died and we were re-parented)."""
    original = os.getppid()
    if original <= 1:
        return None
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval_s):
            if os.getppid() != original:
                on_orphaned()
                return

    thread = threading.Thread(target=run, name="dspex-parent-watch", daemon=True)
    thread.start()
    return thread
