"""Test harness that plays Node: spawns the real worker with two os.pipe()s passed as extra fds, and speaks
frames to it. Every wait is a read with a timeout, never a sleep."""

from __future__ import annotations

import itertools
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from dspex_bridge.framing import FrameReader, ProtocolError, encode_frame, write_all

TESTS_DIR = Path(__file__).resolve().parent
WAIT_S = 20.0


class WorkerProcess:
    def __init__(
        self,
        *extra_args: str,
        commands: str | None = "bridge_test_commands",
        env: dict[str, str] | None = None,
        run_id: str = "test-run",
        worker_id: str = "w1",
    ) -> None:
        to_worker_r, self._to_worker = os.pipe()
        self._from_worker, from_worker_w = os.pipe()
        args = [sys.executable, "-m", "dspex_bridge.worker", "--run-id", run_id, "--worker-id", worker_id]
        if commands:
            args += ["--commands", commands]
        args += list(extra_args)
        child_env = dict(os.environ)
        extra_env = dict(env or {})
        # A test's PYTHONPATH goes first, before the one this run imports dspex_bridge from (a worktree's src).
        child_env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [extra_env.pop("PYTHONPATH", None), str(TESTS_DIR), child_env.get("PYTHONPATH")])
        )
        child_env["DSPEX_BRIDGE_IN_FD"] = str(to_worker_r)
        child_env["DSPEX_BRIDGE_OUT_FD"] = str(from_worker_w)
        child_env.update(extra_env)
        self.proc = subprocess.Popen(
            args,
            pass_fds=(to_worker_r, from_worker_w),
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # Our copies of the child's ends must go, or we would never see EOF from it (and it from us).
        os.close(to_worker_r)
        os.close(from_worker_w)
        self.messages: queue.Queue[Any] = queue.Queue()
        self.frames_error: ProtocolError | None = None
        self._ids = itertools.count(1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stdout_lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        self.stderr_chunks: list[bytes] = []
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    # -- plumbing --------------------------------------------------------------------------------------------
    def _read(self) -> None:
        reader = FrameReader(self._from_worker)
        try:
            while True:
                message = reader.read()
                if message is None:
                    break
                self.messages.put(message)
        except ProtocolError as exc:
            self.frames_error = exc
        except OSError:
            pass
        self.messages.put(None)

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout_lines.put(line.decode(errors="replace"))

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):  # type: ignore[union-attr]
            self.stderr_chunks.append(chunk)

    @property
    def stderr(self) -> str:
        return b"".join(self.stderr_chunks).decode(errors="replace")

    # -- speaking --------------------------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        write_all(self._to_worker, encode_frame(message))

    def send_raw(self, data: bytes) -> None:
        write_all(self._to_worker, data)

    def next_id(self) -> int:
        return next(self._ids)

    def recv(self, timeout: float = WAIT_S) -> dict[str, Any]:
        try:
            message = self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no frame from the worker within {timeout}s; stderr:\n{self.stderr}") from None
        if message is None:
            raise AssertionError(f"worker closed its pipe; stderr:\n{self.stderr}")
        return message

    def recv_until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = WAIT_S) -> tuple[
        dict[str, Any], list[dict[str, Any]]
    ]:
        """The first message matching `predicate`, plus the ones skipped on the way."""
        skipped = []
        while True:
            message = self.recv(timeout)
            if predicate(message):
                return message, skipped
            skipped.append(message)

    def ready(self) -> dict[str, Any]:
        message = self.recv()
        assert message["t"] == "ready", message
        return message

    def start_call(self, cmd: str, args: dict[str, Any] | None = None, session: str | None = None, **extra: Any) -> int:
        call_id = self.next_id()
        self.send({"t": "call", "id": call_id, "cmd": cmd, "args": args or {}, "session": session, **extra})
        return call_id

    def reply_for(self, call_id: int, timeout: float = WAIT_S) -> dict[str, Any]:
        message, _ = self.recv_until(
            lambda m: m.get("id") == call_id and m["t"] in ("result", "error"), timeout=timeout
        )
        return message

    def consume_stream(self, call_id: int, timeout: float = WAIT_S) -> tuple[list[Any], dict[str, Any]]:
        """Reads a stream as Node does: one credit back per chunk consumed. Returns (chunk values, final reply)."""
        values: list[Any] = []
        while True:
            message = self.recv(timeout)
            if message.get("id") != call_id:
                continue
            if message["t"] == "chunk":
                assert message["seq"] == len(values), message
                values.append(message["value"])
                self.send({"t": "credit", "id": call_id, "n": 1})
            elif message["t"] in ("result", "error"):
                return values, message

    def call(self, cmd: str, args: dict[str, Any] | None = None, session: str | None = None) -> Any:
        """Runs one call and returns its value; fails the test on an error reply."""
        reply = self.reply_for(self.start_call(cmd, args, session))
        assert reply["t"] == "result", reply.get("error", reply)
        return reply["value"]

    def call_table(self) -> dict[str, int]:
        """The worker's call table sizes (calls, callbacks, unreleased, waiting_for_thread), from `info`."""
        table: dict[str, int] = self.call("info")["call_table"]
        return table

    def call_error(self, cmd: str, args: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        reply = self.reply_for(self.start_call(cmd, args, session))
        assert reply["t"] == "error", reply
        return reply["error"]

    # -- ending ----------------------------------------------------------------------------------------------
    def close_input(self) -> None:
        try:
            os.close(self._to_worker)
        except OSError:
            pass

    def wait(self, timeout: float = WAIT_S) -> int:
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        self.close_input()
        try:
            self.proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(WAIT_S)
        try:
            os.close(self._from_worker)
        except OSError:
            pass

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
