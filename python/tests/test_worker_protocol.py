"""The real worker as Node sees it: spawned with two pipes passed as extra fds, spoken to in frames."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from harness import TESTS_DIR, WAIT_S, WorkerProcess

from dspex_bridge.framing import FrameReader

VECTORS = json.loads((TESTS_DIR.parents[1] / "test" / "vectors" / "protocol.json").read_text(encoding="utf-8"))


def test_ready_frame_comes_first_with_pid_and_versions() -> None:
    with WorkerProcess(worker_id="w-ready") as proc:
        ready = proc.recv()
        assert ready["t"] == "ready"
        assert ready["pid"] == proc.proc.pid
        assert ready["worker_id"] == "w-ready"
        assert set(ready["versions"]) == {"python", "dspy", "dspex_bridge"}
        assert ready["versions"]["dspy"] == "3.4.1"
        assert ready["versions"]["python"].startswith("3.")


def test_run_id_is_on_the_command_line_for_the_orphan_sweeper(worker: WorkerProcess) -> None:
    with open(f"/proc/{worker.proc.pid}/cmdline", "rb") as f:
        argv = f.read().split(b"\0")
    assert b"--run-id" in argv and argv[argv.index(b"--run-id") + 1] == b"test-run"


def test_ping_echoes_and_info_reports_the_process(worker: WorkerProcess) -> None:
    args = {"a": 1, "b": [1.5, "ü", None, True], "c": {"d": -7}}
    assert worker.call("ping", args) == args
    info = worker.call("info")
    assert info["pid"] == worker.proc.pid
    assert info["worker_id"] == "w1" and info["run_id"] == "test-run"
    assert info["device"] == "cpu"
    assert "create" in info["commands"] and "add" in info["commands"]
    # The default grant is a table of classes by their real homes, not a pattern.
    assert "dspy.predict.predict.Predict" in info["allow"] and "dspy.*" not in info["allow"]


def test_info_reports_cpu_when_cuda_is_requested_but_torch_is_absent() -> None:
    with WorkerProcess(env={"CUDA_VISIBLE_DEVICES": "0"}) as proc:
        proc.ready()
        info = proc.call("info")
        assert info["cuda_visible_devices"] == "0"
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            assert info["device"] == "cpu"
        else:
            assert info["device"] in ("cpu", "cuda:0")


def test_many_concurrent_calls_each_get_their_own_reply(worker: WorkerProcess) -> None:
    # A slow sync call holds a pool thread the whole time: the others must not queue behind it.
    slow = worker.start_call("wait_gate", {"name": "concurrent"})
    expected: dict[int, Any] = {}
    for i in range(150):
        if i % 2:
            expected[worker.start_call("add", {"a": i, "b": 1000})] = i + 1000
        else:
            expected[worker.start_call("ping", {"i": i})] = {"i": i}
    replies: dict[int, Any] = {}
    while len(replies) < len(expected):
        message = worker.recv()
        assert message["t"] == "result", message
        assert message["id"] != slow, "the gated call finished before its gate opened"
        replies[message["id"]] = message["value"]
    assert replies == expected
    worker.call("open_gate", {"name": "concurrent"})
    assert worker.reply_for(slow)["value"] == "gate concurrent passed"


def _chunks(messages: list[dict[str, Any]], call_id: int) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("id") == call_id and m["t"] == "chunk"]


def test_stream_pauses_the_generator_when_credits_run_out(worker: WorkerProcess) -> None:
    stream = worker.start_call("count", {"n": 10}, credits=2)
    first = [worker.recv(), worker.recv()]
    assert [(m["t"], m["id"], m["seq"], m["value"]) for m in first] == [
        ("chunk", stream, 0, 0), ("chunk", stream, 1, 1)]
    # Out of credits: the generator has run exactly twice, and no chunk arrives while we ask.
    probe_id = worker.start_call("probe", {"call_id": stream})
    reply, skipped = worker.recv_until(lambda m: m.get("id") == probe_id)
    assert reply["value"]["produced"] == 2
    assert _chunks(skipped, stream) == []
    # A heartbeat is answered while the stream waits.
    worker.send({"t": "ping", "seq": 99})
    pong, skipped = worker.recv_until(lambda m: m["t"] == "pong")
    assert pong["seq"] == 99 and _chunks(skipped, stream) == []

    worker.send({"t": "credit", "id": stream, "n": 3})
    more = [worker.recv() for _ in range(3)]
    assert [m["seq"] for m in more] == [2, 3, 4] and [m["value"] for m in more] == [2, 3, 4]
    assert worker.call("probe", {"call_id": stream})["produced"] == 5

    worker.send({"t": "credit", "id": stream, "n": 100})
    rest, _ = worker.recv_until(lambda m: m.get("id") == stream and m["t"] == "result")
    assert rest["value"] == 10  # the generator's return value is the final result


def test_stream_result_arrives_after_all_chunks_with_default_window(worker: WorkerProcess) -> None:
    stream = worker.start_call("count", {"n": 5, "start": 10})
    result, skipped = worker.recv_until(lambda m: m.get("id") == stream and m["t"] == "result")
    assert [(m["seq"], m["value"]) for m in _chunks(skipped, stream)] == [(i, 10 + i) for i in range(5)]
    assert result["value"] == 5


def test_async_stream_with_zero_initial_credits_waits_for_a_grant(worker: WorkerProcess) -> None:
    stream = worker.start_call("acount", {"n": 3}, credits=0)
    probe_id = worker.start_call("probe", {"call_id": stream})
    reply, skipped = worker.recv_until(lambda m: m.get("id") == probe_id)
    assert reply["value"]["produced"] in (None, 0)
    assert _chunks(skipped, stream) == []
    worker.send({"t": "credit", "id": stream, "n": 1})
    assert worker.recv() == {"t": "chunk", "id": stream, "seq": 0, "value": {"i": 0}}
    worker.send({"t": "credit", "id": stream, "n": 10})
    result, skipped = worker.recv_until(lambda m: m.get("id") == stream and m["t"] == "result")
    assert [m["seq"] for m in _chunks(skipped, stream)] == [1, 2]
    assert result["value"] == {"total": 3}


def test_cancel_sync_command_replies_cancelled_and_sets_its_flag(worker: WorkerProcess) -> None:
    blocked = worker.start_call("block_sync")
    assert worker.call("ping", {"x": 1}) == {"x": 1}  # it is running
    worker.send({"t": "cancel", "id": blocked})
    reply = worker.reply_for(blocked)
    assert reply["t"] == "error" and reply["error"]["type"] == "Cancelled"
    # The thread saw the cooperative flag; its return value was discarded.
    worker.call("wait_gate", {"name": f"block_sync_done_{blocked}"})
    assert f"block_sync {blocked} saw cancel=True" in worker.call("probe")["log"]
    worker.send({"t": "ping", "seq": 1})
    _, skipped = worker.recv_until(lambda m: m["t"] == "pong")
    assert [m for m in skipped if m.get("id") == blocked] == []


def test_cancel_async_command_cancels_its_task(worker: WorkerProcess) -> None:
    blocked = worker.start_call("block_async")
    assert worker.call("ping") == {}  # its task has started (it was scheduled before this call)
    worker.send({"t": "cancel", "id": blocked})
    reply = worker.reply_for(blocked)
    assert reply["error"]["type"] == "Cancelled"
    assert f"block_async {blocked} cancelled" in worker.call("probe")["log"]


def test_cancel_stream_stops_the_generator(worker: WorkerProcess) -> None:
    stream = worker.start_call("count", {"n": 100}, credits=1)
    assert worker.recv()["seq"] == 0
    worker.send({"t": "cancel", "id": stream})
    assert worker.reply_for(stream)["error"]["type"] == "Cancelled"
    worker.send({"t": "credit", "id": stream, "n": 50})  # credit for a finished call is ignored
    probe_id = worker.start_call("probe", {"call_id": stream})
    reply, skipped = worker.recv_until(lambda m: m.get("id") == probe_id)
    assert reply["value"]["produced"] == 1 and _chunks(skipped, stream) == []


def test_cancel_of_unknown_or_finished_call_is_answered_released_at_once(worker: WorkerProcess) -> None:
    worker.send({"t": "cancel", "id": 424242})
    released, skipped = worker.recv_until(lambda m: m["t"] == "released")
    assert released == {"t": "released", "id": 424242} and skipped == []
    assert worker.call("add", {"a": 1, "b": 2}) == 3


def test_heartbeat_is_answered_while_a_slow_command_runs(worker: WorkerProcess) -> None:
    slow = worker.start_call("wait_gate", {"name": "heartbeat"})
    for seq in range(1, 4):
        worker.send({"t": "ping", "seq": seq})
        pong, skipped = worker.recv_until(lambda m: m["t"] == "pong")
        assert pong == {"t": "pong", "seq": seq, "busy_ms": 0}
        assert [m for m in skipped if m.get("id") == slow] == []
    worker.call("open_gate", {"name": "heartbeat"})
    assert worker.reply_for(slow)["t"] == "result"


def test_callback_round_trip_with_node_as_the_tool(worker: WorkerProcess) -> None:
    call_id = worker.start_call("ask_node", {"name": "search", "args": {"query": "capital of France"}}, session="s1")
    callback = worker.recv()
    assert callback["t"] == "callback"
    assert (callback["session"], callback["name"], callback["args"]) == ("s1", "search", {"query": "capital of France"})
    worker.send({"t": "callback_result", "id": callback["id"], "value": ["Paris", 0.5]})
    assert worker.reply_for(call_id)["value"] == ["Paris", 0.5]


def test_concurrent_callbacks_answered_out_of_order(worker: WorkerProcess) -> None:
    first = worker.start_call("ask_node", {"name": "t", "args": {"n": 1}})
    second = worker.start_call("ask_node_async", {"name": "t", "args": {"n": 2}})
    callbacks = {}
    for _ in range(2):
        message = worker.recv()
        assert message["t"] == "callback" and message["session"] is None
        callbacks[message["args"]["n"]] = message["id"]
    assert callbacks[1] != callbacks[2]
    worker.send({"t": "callback_result", "id": callbacks[2], "value": "two"})
    worker.send({"t": "callback_result", "id": callbacks[1], "value": "one"})
    assert worker.reply_for(second)["value"] == "two"
    assert worker.reply_for(first)["value"] == "one"


def test_callback_error_raises_in_python_and_comes_back_typed(worker: WorkerProcess) -> None:
    call_id = worker.start_call("ask_node", {"name": "search", "args": {}})
    callback = worker.recv()
    worker.send({"t": "callback_error", "id": callback["id"],
                 "error": {"type": "ToolError", "message": "backend down", "traceback": "at node"}})
    error = worker.reply_for(call_id)["error"]
    assert error["type"] == "CallbackError" and "ToolError: backend down" in error["message"]


def test_cancel_while_waiting_on_a_callback(worker: WorkerProcess) -> None:
    call_id = worker.start_call("ask_node", {"name": "slow_tool", "args": {}})
    callback = worker.recv()
    worker.send({"t": "cancel", "id": call_id})
    assert worker.reply_for(call_id)["error"]["type"] == "Cancelled"
    worker.send({"t": "callback_result", "id": callback["id"], "value": "too late"})  # ignored
    assert worker.call("add", {"a": 2, "b": 2}) == 4


def test_node_tool_proxy_has_name_doc_and_signature(worker: WorkerProcess) -> None:
    worker.call("register_tools", {"tools": [{
        "name": "search",
        "description": "Search the web.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "k": {"type": "integer",
                       "default": 3}}, "required": ["query"]},
    }]}, session="s1")
    shape = worker.call("tool_shape", {"name": "search"}, session="s1")
    assert shape["name"] == "search"
    assert shape["doc"] == "Search the web."
    assert shape["signature"] == "(query: str, k: int = 3)"
    assert shape["args"]["query"]["type"] == "string" and shape["args"]["k"]["default"] == 3


def test_library_prints_do_not_corrupt_frames(worker: WorkerProcess) -> None:
    assert worker.call("noisy", {"text": "hello from a library"}) == "still framed"
    assert worker.call("ping", {"after": "noise"}) == {"after": "noise"}
    lines = {worker.stdout_lines.get(timeout=WAIT_S).strip() for _ in range(2)}
    assert lines == {"hello from a library", "raw: hello from a library"}
    worker.close()
    assert "err: hello from a library" in worker.stderr


def test_unknown_command_is_typed_and_the_worker_keeps_serving(worker: WorkerProcess) -> None:
    error = worker.call_error("no_such_command")
    assert error["type"] == "UnknownCommand" and "no_such_command" in error["message"]
    assert worker.call("add", {"a": 1, "b": 1}) == 2


def test_command_exceptions_carry_type_message_and_traceback(worker: WorkerProcess) -> None:
    error = worker.call_error("fail", {"message": "kaputt"})
    assert error["type"] == "ValueError" and error["message"] == "kaputt"
    assert "raise ValueError(message)" in error["traceback"]
    assert worker.call_error("add", {"a": 1})["type"] == "BadArguments"
    worker.send({"t": "call", "id": 777, "args": {}, "session": None})  # no "cmd"
    assert worker.reply_for(777)["error"]["type"] == "BadRequest"


def test_eof_on_input_exits_cleanly_even_with_work_in_flight() -> None:
    with WorkerProcess() as proc:
        proc.ready()
        proc.start_call("block_sync")
        proc.start_call("block_async")
        assert proc.call("add", {"a": 1, "b": 2}) == 3
        proc.close_input()
        assert proc.wait() == 0


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["name"])
def test_malformed_frame_is_fatal_with_exit_code_3(case: dict[str, Any]) -> None:
    limit = case.get("max_frame_bytes")
    extra = ["--max-frame-bytes", str(limit)] if limit is not None else []
    with WorkerProcess(*extra) as proc:
        proc.ready()
        proc.send_raw(bytes.fromhex(case["hex"]))
        if case["kind"] == "Truncated":
            proc.close_input()  # the rest of the frame never comes
        fatal = proc.recv()
        assert fatal["t"] == "fatal" and fatal["error"]["type"] == case["kind"]
        assert proc.wait() == 3


def test_worker_uses_fds_3_and_4_by_default() -> None:
    to_worker_r, to_worker_w = os.pipe()
    from_worker_r, from_worker_w = os.pipe()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSPEX_BRIDGE_")}
    worker = f'"{sys.executable}" -m dspex_bridge.worker --run-id r --worker-id fd34'
    script = f"exec {worker} 3<&{to_worker_r} 4>&{from_worker_w}"
    proc = subprocess.Popen(["bash", "-c", script], pass_fds=(to_worker_r, from_worker_w), env=env)
    os.close(to_worker_r)
    os.close(from_worker_w)
    try:
        reader = FrameReader(from_worker_r)
        ready = reader.read()
        assert ready is not None and ready["t"] == "ready" and ready["worker_id"] == "fd34"
    finally:
        os.close(to_worker_w)
        assert proc.wait(timeout=WAIT_S) == 0
        os.close(from_worker_r)


def test_bad_commands_module_is_a_fatal_startup_error() -> None:
    with WorkerProcess(commands="no_such_module_for_dspex") as proc:
        fatal = proc.recv()
        assert fatal["t"] == "fatal" and fatal["error"]["type"] == "StartupError"
        assert "no_such_module_for_dspex" in fatal["error"]["message"]
        assert proc.wait() == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_worker_dies_with_its_parent() -> None:
    to_worker_r, to_worker_w = os.pipe()
    from_worker_r, from_worker_w = os.pipe()
    # A middle process stands in for Node: it spawns the worker, then is SIGKILLed.
    middle_code = (
        "import os, subprocess, sys\n"
        f"p = subprocess.Popen([sys.executable, '-m', 'dspex_bridge.worker', '--run-id', 'r', '--worker-id', 'orphan'],"
        f" pass_fds=({to_worker_r}, {from_worker_w}))\n"
        "print(p.pid, flush=True)\n"
        "sys.stdin.read()\n"
    )
    env = dict(os.environ, DSPEX_BRIDGE_IN_FD=str(to_worker_r), DSPEX_BRIDGE_OUT_FD=str(from_worker_w))
    middle = subprocess.Popen(
        [sys.executable, "-c", middle_code], pass_fds=(to_worker_r, from_worker_w), env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    os.close(to_worker_r)
    os.close(from_worker_w)
    try:
        reader = FrameReader(from_worker_r)
        ready = reader.read()
        assert ready is not None and ready["t"] == "ready"
        assert middle.stdout is not None
        assert int(middle.stdout.readline()) == ready["pid"]
        middle.kill()
        middle.wait(timeout=WAIT_S)
        # We still hold the worker's input open, so only its death closes its output: EOF proves it.
        assert reader.read() is None
    finally:
        os.close(to_worker_w)
        os.close(from_worker_r)


# -- every call answered (issue 8, section 3) ------------------------------------------------------------------


def test_an_exception_message_that_is_not_utf8_is_answered_escaped(worker: WorkerProcess) -> None:
    error = worker.call_error("raise_bad_utf8")
    assert error["type"] == "OSError"
    assert error["message"] == "cannot open caf\\udce9"
    assert "raise_bad_utf8" in error["traceback"]
    assert worker.call_table() == {"calls": 0, "callbacks": 0, "unreleased": 0, "waiting_for_thread": 0}


def test_a_huge_exception_message_is_cut_at_the_limit_and_says_so(worker: WorkerProcess) -> None:
    from dspex_bridge.errors import MAX_ERROR_MESSAGE_CHARS, MAX_TRACEBACK_CHARS

    chars = 80 * 1024 * 1024
    error = worker.call_error("raise_huge", {"chars": chars})
    assert error["type"] == "ValueError"
    cut = chars - MAX_ERROR_MESSAGE_CHARS
    assert error["message"] == "x" * MAX_ERROR_MESSAGE_CHARS + f" [dspex_bridge: cut, {cut} more characters]"
    # The traceback names the raising frame and ends with a short cut of the message (the full cut is above).
    assert "raise_huge" in error["traceback"]
    assert error["traceback"].endswith(f"ValueError: {'x' * 1000} [dspex_bridge: cut, {chars - 1000} more characters]\n")
    assert len(error["traceback"]) < MAX_TRACEBACK_CHARS
    assert worker.call_table()["calls"] == 0


def test_an_exception_whose_str_raises_is_still_answered(worker: WorkerProcess) -> None:
    error = worker.call_error("raise_unprintable")
    assert error["type"] == "_Unprintable"
    assert error["message"] == "<str() of the exception raised RuntimeError>"


def test_a_result_that_cannot_be_encoded_becomes_an_error_reply(worker: WorkerProcess) -> None:
    error = worker.call_error("bad_result")
    assert error["type"] not in ("", None)
    error["message"].encode("utf-8")  # whatever the encoder said, it arrived as valid UTF-8
    assert worker.call_table()["calls"] == 0


def test_a_chunk_that_cannot_be_encoded_ends_the_stream_with_an_error(worker: WorkerProcess) -> None:
    values, final = worker.consume_stream(worker.start_call("bad_chunk"))
    assert values == [1]
    assert final["t"] == "error" and "chunk 1" in final["error"]["message"]
    assert worker.call_table()["calls"] == 0


def test_a_huge_traceback_keeps_its_end_and_says_it_was_cut() -> None:
    from dspex_bridge.errors import MAX_TRACEBACK_CHARS, error_map

    def chain(n: int) -> None:  # each link's message fits; together they pass the traceback limit
        try:
            if n > 0:
                chain(n - 1)
        finally:
            if n < 4:
                raise ValueError(f"link {n} " + "y" * 30_000)
            raise KeyError("bottom")

    try:
        chain(4)
    except KeyError as exc:
        tb = error_map(exc)["traceback"]
    assert tb.startswith("[dspex_bridge: cut, ") and tb.endswith("KeyError: 'bottom'\n")
    assert len(tb) < MAX_TRACEBACK_CHARS + 100


def test_an_error_over_a_tiny_frame_limit_still_reaches_node_shortened() -> None:
    with WorkerProcess("--max-frame-bytes", "600") as proc:
        proc.ready()
        error = proc.call_error("raise_huge", {"chars": 5000})
        assert error["type"] == "ValueError"
        assert error["message"] == "x" * 1000 and error["traceback"] == ""


# -- cancelled calls report when their code really stopped (issue 8, section 4) --------------------------------


def test_a_cancelled_sync_call_is_released_only_when_its_thread_returns(worker: WorkerProcess) -> None:
    stuck = worker.start_call("ignore_cancel", {"name": "released-gate"})
    worker.call("wait_gate", {"name": "released-gate:started"})
    worker.send({"t": "cancel", "id": stuck})
    assert worker.reply_for(stuck)["error"]["type"] == "Cancelled"
    assert worker.call_table() == {"calls": 0, "callbacks": 0, "unreleased": 1, "waiting_for_thread": 0}
    gate = worker.start_call("open_gate", {"name": "released-gate"})
    released, skipped = worker.recv_until(lambda m: m["t"] == "released")
    assert released == {"t": "released", "id": stuck}
    assert [m for m in skipped if m.get("id") == stuck] == []  # its late result is discarded
    assert [m["t"] for m in skipped if m.get("id") == gate] in ([], ["result"])
    assert worker.call_table()["unreleased"] == 0


def test_a_cancelled_call_still_waiting_for_a_thread_is_released_at_once() -> None:
    with WorkerProcess("--max-threads", "1") as proc:
        proc.ready()
        holder = proc.start_call("ignore_cancel", {"name": "one-thread"})
        queued = proc.start_call("add", {"a": 1, "b": 2})
        proc.send({"t": "cancel", "id": queued})
        assert proc.reply_for(queued)["error"]["type"] == "Cancelled"
        released, _ = proc.recv_until(lambda m: m["t"] == "released")
        assert released["id"] == queued
        proc.call("open_gate", {"name": "one-thread"})
        assert proc.reply_for(holder)["value"] == "finished"


def test_a_cancelled_async_call_is_released_when_its_task_ends(worker: WorkerProcess) -> None:
    call = worker.start_call("block_async")
    worker.call("ping")  # the task has started
    worker.send({"t": "cancel", "id": call})
    assert worker.reply_for(call)["error"]["type"] == "Cancelled"
    released, _ = worker.recv_until(lambda m: m["t"] == "released")
    assert released["id"] == call
    assert worker.call_table()["unreleased"] == 0


def test_pong_says_how_long_every_thread_has_been_busy() -> None:
    with WorkerProcess("--max-threads", "1") as proc:
        proc.ready()
        holder = proc.start_call("ignore_cancel", {"name": "busy"})
        waiting = proc.start_call("add", {"a": 1, "b": 1})
        proc.send({"t": "ping", "seq": 1})
        first, _ = proc.recv_until(lambda m: m["t"] == "pong")
        seen = first["busy_ms"]
        while seen < 50:  # saturation is measured from the first ping that saw it
            proc.send({"t": "ping", "seq": 2})
            seen = proc.recv_until(lambda m: m["t"] == "pong")[0]["busy_ms"]
        proc.call("open_gate", {"name": "busy"})
        assert proc.reply_for(holder)["t"] == "result" and proc.reply_for(waiting)["value"] == 2
        proc.send({"t": "ping", "seq": 3})
        assert proc.recv_until(lambda m: m["t"] == "pong")[0]["busy_ms"] == 0
