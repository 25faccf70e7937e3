"""close_session is a barrier in frame order (issue 9, section 4): a call frame read after a close gets a fresh
session, even when the close and the call arrive in one read and the call is async (it would run on the loop
before a thread took the close); a call already running keeps its objects until it ends, then they are freed."""

from __future__ import annotations

import os
from typing import Any, Iterator

import pytest

from dspex_bridge.framing import encode_frame
from harness import TESTS_DIR, WorkerProcess

COMMANDS = "bridge_test_commands,session_order_fixtures"
ENV = {"PYTHONPATH": os.pathsep.join([str(TESTS_DIR), str(TESTS_DIR / "fixtures")])}


@pytest.fixture
def worker() -> Iterator[WorkerProcess]:
    with WorkerProcess(commands=COMMANDS, env=ENV) as w:
        w.ready()
        yield w


def send_together(worker: WorkerProcess, *calls: tuple[str, dict[str, Any], str | None]) -> list[Any]:
    """Writes the calls' frames in one write, so the worker reads them in one pass; returns their results."""
    ids = [worker.next_id() for _ in calls]
    data = b"".join(
        encode_frame({"t": "call", "id": i, "cmd": cmd, "args": args, "session": session})
        for i, (cmd, args, session) in zip(ids, calls)
    )
    worker.send_raw(data)
    replies: dict[int, dict[str, Any]] = {}
    while len(replies) < len(ids):
        message = worker.recv()
        if message.get("id") in ids and message["t"] in ("result", "error"):
            replies[message["id"]] = message
    for reply in replies.values():
        assert reply["t"] == "result", reply
    return [replies[i]["value"] for i in ids]


def result(worker: WorkerProcess, call_id: int) -> Any:
    reply = worker.reply_for(call_id)
    assert reply["t"] == "result", reply
    return reply["value"]


def test_an_async_call_right_after_close_sees_a_fresh_session(worker: WorkerProcess) -> None:
    worker.call("order_put", {"key": "a", "value": 1}, session="s")
    close, keys = send_together(worker, ("close_session", {}, "s"), ("order_keys", {}, "s"))
    assert keys == []
    assert close == {"session": "s", "objects": 1}


def test_a_sync_call_right_after_close_is_not_wiped_by_it(worker: WorkerProcess) -> None:
    worker.call("order_put", {"key": "a", "value": 1}, session="s")
    _close, put = send_together(worker, ("close_session", {}, "s"), ("order_put", {"key": "b", "value": 2}, "s"))
    assert put == ["b"]
    assert worker.call("order_keys", session="s") == ["b"]


def test_closing_another_session_by_name_is_ordered_too(worker: WorkerProcess) -> None:
    worker.call("order_put", {"key": "a", "value": 1}, session="s")
    close, keys = send_together(worker, ("close_session", {"session": "s"}, None), ("order_keys", {}, "s"))
    assert keys == []
    assert close == {"session": "s", "objects": 1}


def test_a_call_running_across_the_close_keeps_its_objects_until_it_ends(worker: WorkerProcess) -> None:
    hold = worker.start_call("order_hold", {"gate": "g1", "key": "x", "value": "kept"}, session="s")
    assert worker.call("order_wait_put", {"gate": "g1"}) is True
    assert worker.call("close_session", session="s") == {"session": "s", "objects": 1}
    assert worker.call("order_keys", session="s") == []  # later calls: a fresh session
    assert worker.call("order_held_size", {"gate": "g1"}) == 1  # not freed under the running call
    worker.call("order_open", {"gate": "g1"})
    assert result(worker, hold) == "kept"
    assert worker.call("order_held_size", {"gate": "g1"}) == 0  # freed once it ended
    assert worker.call_table() == {"calls": 0, "callbacks": 0, "unreleased": 0, "waiting_for_thread": 0}


def test_an_ordered_command_must_be_a_plain_sync_function() -> None:
    from dspex_bridge.registry import Registry

    registry = Registry()

    async def not_inline() -> None:
        return None

    with pytest.raises(ValueError, match="ordered command"):
        registry.add("x", not_inline, ordered=True)
