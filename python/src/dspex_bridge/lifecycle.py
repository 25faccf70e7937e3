"""Dying with the owner: the worker and everything it started. PR_SET_PDEATHSIG kills the worker when Node
dies (a getppid() watch is the fallback elsewhere); a sentinel process, forked before any command runs, outlives
the worker by a moment and kills every descendant it left behind, found by process group, session and the
run-id marker in the environment (see "Process lifetime" in python/README.md for the precise guarantee)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from typing import Callable

PR_SET_PDEATHSIG = 1
#: Inherited by every process a command starts (subprocess, os.system, multiprocessing): the run-id marker the
#: orphan sweeper of the next runtime recognises, and the worker id the sentinel recognises.
RUN_ID_ENV = "DSPEX_RUN_ID"
WORKER_ID_ENV = "DSPEX_WORKER_ID"
#: With the worker id, the worker's pid: two workers given one id (test harnesses do) stay apart.
WORKER_PID_ENV = "DSPEX_WORKER_PID"
#: The sentinel's last pass stops after this long even if something keeps forking faster than it is killed.
SENTINEL_SWEEP_LIMIT_S = 2.0
#: Passes (2 ms apart) the sentinel waits for a process in the middle of an exec to become readable.
UNSURE_PASSES = 25

_libc: ctypes.CDLL | None = None


def _prctl(option: int, arg: int) -> bool:
    global _libc
    if not sys.platform.startswith("linux"):
        return False
    try:
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(_libc.prctl(option, arg, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def install_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Asks Linux to send `sig` to this process when its parent dies. False where unsupported."""
    return _prctl(PR_SET_PDEATHSIG, int(sig))


def owner_pid(run_id: str) -> int | None:
    """The Node owner's pid from a run id `<owner pid>.<random>`; None for any other form (tests, tools)."""
    head = run_id.split(".", 1)[0]
    return int(head) if head.isdigit() and "." in run_id else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_gone(run_id: str) -> bool:
    """True when the owner died before PR_SET_PDEATHSIG was armed: the signal would then never come."""
    owner = owner_pid(run_id)
    # A wrapper script between Node and Python makes the parent differ while the owner is alive.
    return owner is not None and os.getppid() != owner and not pid_alive(owner)


def mark_environment(run_id: str, worker_id: str) -> None:
    """Puts the markers in os.environ (and the C environ), so every process a command starts inherits them."""
    os.environ[RUN_ID_ENV] = run_id
    os.environ[WORKER_ID_ENV] = worker_id
    os.environ[WORKER_PID_ENV] = str(os.getpid())


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


def _stat(pid: str) -> tuple[str, int, int] | None:
    """(state, pgrp, session) of a process, None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return fields[0].decode(), int(fields[2]), int(fields[3])
    except (OSError, IndexError, ValueError):
        return None


def _read_nul_list(path: str) -> list[bytes]:
    try:
        with open(path, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def descendants_left_by(worker_pid: int, worker_id: str, group: bool, session: bool) -> tuple[list[int], bool]:
    """Live processes that belong to the worker: in its process group or session (when it led them), or with
    its markers (worker id and pid) in their environment. A copy forked without exec shows the worker's
    original environment, without markers: the group or session covers it, and the sweep its command line.
    The flag says a process could not be judged: in the middle of an exec its environment reads empty."""
    me = os.getpid()
    markers = (f"{WORKER_ID_ENV}={worker_id}".encode(), f"{WORKER_PID_ENV}={worker_pid}".encode())
    found: list[int] = []
    unsure = False
    try:
        entries = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return found, unsure
    for entry in entries:
        pid = int(entry)
        if pid == me:
            continue
        stat = _stat(entry)
        if stat is None or stat[0] in ("Z", "X"):
            continue
        _, pgrp, sid = stat
        if (group and pgrp == worker_pid) or (session and sid == worker_pid):
            found.append(pid)
            continue
        environ = _read_nul_list(f"/proc/{entry}/environ")
        if all(marker in environ for marker in markers):
            found.append(pid)
        elif environ == [b""] and sid != 0 and _read_nul_list(f"/proc/{entry}/cmdline") == [b""]:
            unsure = True  # kernel threads (session 0) read empty too, for good
    return found, unsure


def kill_descendants(worker_pid: int, worker_id: str, group: bool, session: bool, limit_s: float = SENTINEL_SWEEP_LIMIT_S) -> list[int]:
    """SIGKILLs what `descendants_left_by` finds, pass after pass, until a pass finds nothing and nothing it
    could not judge: a process that forked between our look and our kill leaves a child that the next pass
    finds. Returns the pids."""
    killed: set[int] = set()
    deadline = time.monotonic() + limit_s
    unsure_passes = 0
    while time.monotonic() < deadline:
        found, unsure = descendants_left_by(worker_pid, worker_id, group, session)
        unsure_passes = unsure_passes + 1 if unsure and not found else 0
        # An exec takes microseconds: a process that reads empty for many passes is something else (an odd
        # argv), not worth burning the sentinel's last seconds on.
        if (not found and not unsure) or unsure_passes > UNSURE_PASSES:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if set(found) <= killed:
            time.sleep(0.002)  # only processes on their way out, or one mid-exec: look again in a moment
        killed.update(found)
    return sorted(killed)


def start_sentinel(worker_id: str) -> int | None:
    """Forks the sentinel: a small process that waits for this worker to end, for any reason (SIGKILL
    included: it is told by its own PR_SET_PDEATHSIG, not by code in the worker), then kills what the worker
    left behind and exits. Call it early, from the main thread, before any other thread starts: the parent
    death signal follows the thread that forked. Returns its pid, None where it cannot run (not Linux)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return None
    worker_pid = os.getpid()
    # Only when the worker leads them (as under a Port, which calls setsid): otherwise they are the caller's.
    group = os.getpgrp() == worker_pid
    session = os.getsid(0) == worker_pid
    wake = signal.SIGUSR1
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {wake})
    pid = os.fork()
    if pid != 0:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        return pid
    code = 0
    try:
        _become_sentinel()
        if install_parent_death_signal(wake) and os.getppid() == worker_pid:
            signal.sigwait({wake})
        kill_descendants(worker_pid, worker_id, group, session)
    except BaseException:  # noqa: BLE001 - nothing to report to: stdio is /dev/null
        code = 1
    os._exit(code)


def _become_sentinel() -> None:
    """Out of the worker's group (the Port's group kill must leave it to do its work) and off every pipe to
    Node (Node must see the worker's pipes close when the worker goes)."""
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, _max_fd())


def _max_fd() -> int:
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (OSError, ValueError):
        return 65536


def arm_worker_lifetime(run_id: str, worker_id: str) -> bool:
    """Everything a worker does at startup so that it, and what it starts, die with the owner: the parent
    death signal, the markers, the sentinel. False when the owner is already gone: the worker must exit."""
    install_parent_death_signal()
    if owner_gone(run_id):
        return False
    mark_environment(run_id, worker_id)
    start_sentinel(worker_id)
    return True
