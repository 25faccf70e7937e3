"""A worker's processes die with it: whatever a command started (a plain subprocess, one in a new session, a
double-forked daemon) is killed by the sentinel when the worker is SIGKILLed; a worker whose owner died before
it could arm PR_SET_PDEATHSIG does not start. Deaths are waited for on pidfds, never by sleeping."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest
from harness import WAIT_S, WorkerProcess

from dspex_bridge.lifecycle import RUN_ID_ENV, WORKER_ID_ENV, owner_gone, owner_pid
from dspex_bridge.server import EXIT_STARTUP

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sentinel uses /proc and PR_SET_PDEATHSIG")


def live(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


def wait_gone(pids: list[int], timeout: float = 5.0) -> list[int]:
    """Waits on pidfds until every pid has terminated; returns those still alive at the timeout."""
    fds = {}
    for pid in pids:
        try:
            fds[os.pidfd_open(pid)] = pid
        except ProcessLookupError:
            pass
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + timeout
    pending = dict(fds)
    while pending and time.monotonic() < deadline:
        for fd, _ in poller.poll(max(1, int((deadline - time.monotonic()) * 1000))):
            poller.unregister(fd)
            pending.pop(fd, None)
    for fd in fds:
        os.close(fd)
    return sorted(pid for pid in pending.values() if live(pid))


def environ_of(pid: int) -> list[bytes]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        return f.read().split(b"\0")


@linux_only
@pytest.mark.parametrize("mode", ["plain", "setsid", "double_fork"])
def test_what_a_command_started_dies_when_the_worker_is_sigkilled(mode: str) -> None:
    with WorkerProcess(run_id="1.lifecycle", worker_id=f"w-{mode}") as worker:
        worker.ready()
        grandchild = worker.call("spawn_grandchild", {"mode": mode})
        assert live(grandchild)
        # The markers the sentinel and the next runtime's sweep recognise, inherited by the grandchild.
        env = environ_of(grandchild)
        assert f"{RUN_ID_ENV}=1.lifecycle".encode() in env and f"{WORKER_ID_ENV}=w-{mode}".encode() in env

        worker.proc.send_signal(signal.SIGKILL)
        assert worker.wait() == -signal.SIGKILL
        assert wait_gone([grandchild]) == []


@linux_only
def test_the_sentinel_leaves_when_the_worker_ends_and_holds_no_pipe() -> None:
    worker = WorkerProcess(run_id="1.lifecycle", worker_id="w-sentinel")
    worker.ready()
    sentinels = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _is_sentinel_of(int(pid), worker.proc.pid)]
    assert len(sentinels) == 1
    # Closing our input ends the worker; its pipes reach EOF although the sentinel was forked with them open.
    worker.close()
    assert wait_gone(sentinels) == []


def _is_sentinel_of(pid: int, worker_pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[1]) == worker_pid and b"w-sentinel" in open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return False


@linux_only
def test_a_worker_whose_owner_is_already_gone_does_not_start() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with WorkerProcess(run_id=f"{dead.pid}.gone") as worker:
        assert worker.wait(WAIT_S) == EXIT_STARTUP
        assert worker.messages.get(timeout=WAIT_S) is None  # its frame pipe closed without a ready frame


def test_the_owner_pid_comes_from_the_run_id() -> None:
    assert owner_pid("4242.abc") == 4242
    assert owner_pid("test-run") is None
    assert owner_pid("4242") is None
    assert not owner_gone("test-run")
    assert not owner_gone(f"{os.getppid()}.x")
