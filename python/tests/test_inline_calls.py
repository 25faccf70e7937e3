"""Inline commands (ping, and any sync command registered inline=True) run on the worker's reader thread as their
frame is read, with no event-loop pass and no thread hand-off; a frame read after one that still waits for the loop
waits its turn, so calls are dispatched in the order they were read."""

from __future__ import annotations

import os
from typing import Any, Iterator

import pytest

from dspex_bridge import Registry
from harness import TESTS_DIR, WorkerProcess

COMMANDS = "bridge_test_commands,inline_fixtures"
ENV = {"PYTHONPATH": os.pathsep.join([str(TESTS_DIR), str(TESTS_DIR / "fixtures")])}


@pytest.fixture
def worker() -> Iterator[WorkerProcess]:
    with WorkerProcess(commands=COMMANDS, env=ENV) as w:
        w.ready()
        yield w


def hold_the_loop(worker: WorkerProcess, until_posted: int = 0) -> int:
    """Starts `hold_loop` and returns its call id once it holds the loop (its chunk came)."""
    call_id = worker.start_call("hold_loop", {"until_posted": until_posted})
    chunk, _ = worker.recv_until(lambda m: m.get("id") == call_id and m["t"] == "chunk")
    assert chunk["value"] == "holding"
    return call_id


def replies_for(worker: WorkerProcess, *call_ids: int) -> dict[int, dict[str, Any]]:
    """The terminal replies of `call_ids`, in whatever order they come."""
    replies: dict[int, dict[str, Any]] = {}
    while len(replies) < len(call_ids):
        message = worker.recv()
        if message.get("id") in call_ids and message["t"] in ("result", "error"):
            replies[message["id"]] = message
    return replies


def result(reply: dict[str, Any]) -> Any:
    assert reply["t"] == "result", reply
    return reply["value"]


def test_an_inline_call_is_answered_while_the_event_loop_is_held(worker: WorkerProcess) -> None:
    held = hold_the_loop(worker)
    # Through the loop this call would wait forever: only it opens the gate the loop is held on.
    opener = worker.start_call("open_loop_gate")
    replies = replies_for(worker, held, opener)
    assert result(replies[opener]) == "dspex-reader"
    assert result(replies[held]) is None


def test_ping_is_inline_and_echoes_its_arguments(worker: WorkerProcess) -> None:
    args = {"n": 1, "nested": {"list": [1, 2.5, "x", None, True]}, "bytes": b"\x00\xff"}
    ids = [worker.start_call("ping", {**args, "i": i}) for i in range(50)]
    for i, call_id in enumerate(ids):
        assert result(worker.reply_for(call_id)) == {**args, "i": i}


def test_an_inline_call_read_after_a_frame_waiting_for_the_loop_waits_its_turn(worker: WorkerProcess) -> None:
    assert result(worker.reply_for(worker.start_call("stash", session="s"))) == 1
    seen = result(worker.reply_for(worker.start_call("session_objects", session="s")))
    assert seen == {"objects": 1, "thread": "dspex-reader"}
    # While the loop is held, close_session(s) waits for it; the inline call read after it must run after it.
    held = hold_the_loop(worker, until_posted=2)
    closing = worker.start_call("close_session", session="s")
    after = worker.start_call("session_objects", session="s")
    replies = replies_for(worker, held, closing, after)
    assert result(replies[held]) is None
    assert result(replies[closing])["objects"] == 1
    assert result(replies[after]) == {"objects": 0, "thread": "MainThread"}


def test_malformed_and_failing_inline_calls_are_answered_like_any_other(worker: WorkerProcess) -> None:
    bad_args = worker.next_id()
    worker.send({"t": "call", "id": bad_args, "cmd": "ping", "args": [1, 2], "session": None})
    assert worker.reply_for(bad_args)["error"]["type"] == "BadRequest"
    unsendable = worker.start_call("ping", {"big": 2**70})
    assert result(worker.reply_for(unsendable)) == {"big": 2**70}
    wrong = worker.start_call("session_objects", {"unexpected": 1})
    assert worker.reply_for(wrong)["error"]["type"] == "BadArguments"


@pytest.mark.parametrize("kind", ["async", "stream", "ordered"])
def test_an_inline_command_is_a_plain_sync_function(kind: str) -> None:
    registry = Registry()

    async def run_async() -> None:
        return None

    def stream() -> Iterator[int]:
        yield 1

    def plain() -> None:
        return None

    fn, extra = {"async": (run_async, {}), "stream": (stream, {}), "ordered": (plain, {"ordered": True})}[kind]
    with pytest.raises(ValueError, match="inline command is a plain sync function"):
        registry.add("x", fn, inline=True, **extra)
    assert registry.inline_command("x") is None
