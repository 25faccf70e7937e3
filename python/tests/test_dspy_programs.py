"""Real DSPy behind the bridge: programs answered by dspy.utils.DummyLM, saved and loaded across workers,
evaluated, optimized, a ReAct using a Node tool, and one dspy.LM call to an OpenAI-compatible loopback server."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any, Iterator

import pytest
from harness import WorkerProcess

QA = [
    {"question": "What is 2 + 2?", "answer": "4"},
    {"question": "What is the capital of France?", "answer": "Paris"},
    {"question": "What colour is the sky?", "answer": "blue"},
]


@pytest.fixture(scope="module")
def dspy_worker() -> Iterator[WorkerProcess]:
    """One worker for this module; each test works in its own session, with a session-scoped DummyLM."""
    with WorkerProcess(worker_id="dspy") as proc:
        proc.ready()
        yield proc


def _dummy(worker: WorkerProcess, session: str, answers: Any) -> None:
    configured = worker.call("configure_lm", {"dummy": answers}, session=session)
    assert configured == {"model": "dummy", "scope": "session", "session": session}


def test_predict_answers_from_dummy_lm(dspy_worker: WorkerProcess) -> None:
    _dummy(dspy_worker, "predict", [{"answer": "blue"}])
    created = dspy_worker.call("create", {"class": "dspy.Predict", "args": ["question -> answer"]}, session="predict")
    assert created["class"] == "dspy.Predict" and created["handle"].startswith("h")
    prediction = dspy_worker.call("call", {"handle": created["handle"], "kwargs": {"question": "Sky colour?"}},
                                  session="predict")
    assert prediction == {"answer": "blue"}


def test_chain_of_thought_returns_reasoning_and_answer(dspy_worker: WorkerProcess) -> None:
    _dummy(dspy_worker, "cot", [{"reasoning": "Two and two make four.", "answer": "4"}])
    handle = dspy_worker.call("create", {"class": "dspy.ChainOfThought", "args": ["question -> answer: int"]},
                              session="cot")["handle"]
    prediction = dspy_worker.call("call", {"handle": handle, "kwargs": {"question": "2 + 2?"}}, session="cot")
    assert prediction == {"reasoning": "Two and two make four.", "answer": 4}


def test_handles_belong_to_their_session(dspy_worker: WorkerProcess) -> None:
    handle = dspy_worker.call("create", {"class": "dspy.Predict", "args": ["q -> a"]}, session="mine")["handle"]
    assert dspy_worker.call_error("get_attr", {"handle": handle, "name": "demos"}, session="theirs")["type"] == \
        "UnknownHandle"
    assert dspy_worker.call("get_attr", {"handle": handle, "name": "demos"}, session="mine") == []
    assert dspy_worker.call("set_attr", {"handle": handle, "name": "demos", "value": []}, session="mine") is True
    sig = dspy_worker.call("get_attr", {"handle": handle, "name": "signature.instructions"}, session="mine")
    assert "`q`" in sig
    assert dspy_worker.call_error("get_attr", {"handle": handle, "name": "__dict__"}, session="mine")["type"] == \
        "NotAllowed"
    closed = dspy_worker.call("close_session", {}, session="mine")
    assert closed == {"session": "mine", "objects": 1}
    assert dspy_worker.call("delete", {"handle": handle}, session="mine") is False


def test_create_refuses_classes_outside_the_allow_list(dspy_worker: WorkerProcess) -> None:
    for path in ("subprocess.Popen", "builtins.eval", "dspy.__builtins__", "dspy.utils.saving.Path"):
        error = dspy_worker.call_error("create", {"class": path, "args": ["ls"]})
        assert error["type"] == "NotAllowed", (path, error)


def test_custom_allow_list_from_the_command_line() -> None:
    with WorkerProcess("--allow", "dspy.Predict") as proc:
        proc.ready()
        assert proc.call("create", {"class": "dspy.Predict", "args": ["q -> a"]})["class"] == "dspy.Predict"
        assert proc.call_error("create", {"class": "dspy.ChainOfThought", "args": ["q -> a"]})["type"] == "NotAllowed"


def test_save_in_one_worker_and_load_in_another(tmp_path: Any) -> None:
    path = tmp_path / "program.json"
    demos = [{"question": "What is 2 + 2?", "answer": "4"}]
    with WorkerProcess("--save-dir", str(tmp_path), worker_id="saver") as saver:
        saver.ready()
        handle = saver.call("create", {"class": "dspy.ChainOfThought", "args": ["question -> answer"]})["handle"]
        assert saver.call("set_attr", {"handle": handle, "name": "predict.demos", "value": demos})
        state = saver.call("save", {"handle": handle, "path": str(path)})
    assert state["predict"]["demos"] == demos
    assert state["metadata"]["dependency_versions"]["dspy"] == "3.4.1"
    assert json.loads(path.read_text()) == state  # the same JSON DSPy's program.save writes
    with WorkerProcess("--save-dir", str(tmp_path), worker_id="loader") as loader:
        loader.ready()
        from_state = loader.call("load", {"class": "dspy.ChainOfThought", "args": ["question -> answer"],
                                          "state": state})["handle"]
        from_file = loader.call("load", {"class": "dspy.ChainOfThought", "args": ["question -> answer"],
                                         "path": str(path)})["handle"]
        for handle in (from_state, from_file):
            assert loader.call("get_attr", {"handle": handle, "name": "predict.demos"}) == demos
            assert loader.call("save", {"handle": handle})["predict"] == state["predict"]
        assert loader.call_error("save", {"handle": from_state, "path": str(tmp_path / "x.pkl")})["type"] == \
            "NotAllowed"


def test_evaluate_with_a_builtin_metric(dspy_worker: WorkerProcess) -> None:
    _dummy(dspy_worker, "eval", [{"answer": "4"}, {"answer": "Lyon"}, {"answer": "Blue"}])
    handle = dspy_worker.call("create", {"class": "dspy.Predict", "args": ["question -> answer"]},
                              session="eval")["handle"]
    outcome = dspy_worker.call("evaluate", {"handle": handle, "devset": QA, "input_keys": ["question"],
                                            "metric": "exact_match"}, session="eval")
    assert outcome["score"] == pytest.approx(66.67)
    assert [r["score"] for r in outcome["results"]] == [True, False, True]
    assert outcome["results"][1]["prediction"] == {"answer": "Lyon"}
    assert outcome["results"][1]["example"] == QA[1]


def test_evaluate_with_a_node_metric_callback(dspy_worker: WorkerProcess) -> None:
    _dummy(dspy_worker, "evalcb", [{"answer": "4"}, {"answer": "Lyon"}])
    handle = dspy_worker.call("create", {"class": "dspy.Predict", "args": ["question -> answer"]},
                              session="evalcb")["handle"]
    call_id = dspy_worker.start_call("evaluate", {"handle": handle, "devset": QA[:2], "input_keys": ["question"],
                                                  "metric": {"callback": "judge"}}, session="evalcb")
    for _ in range(2):
        callback = dspy_worker.recv()
        assert callback["t"] == "callback" and callback["name"] == "judge" and callback["session"] == "evalcb"
        args = callback["args"]
        score = 1.0 if args["example"]["answer"] == args["prediction"]["answer"] else 0.25
        dspy_worker.send({"t": "callback_result", "id": callback["id"], "value": score})
    outcome = dspy_worker.reply_for(call_id)["value"]
    assert [r["score"] for r in outcome["results"]] == [1.0, 0.25]
    assert outcome["score"] == pytest.approx(62.5)


def test_bootstrap_few_shot_optimize_streams_progress(dspy_worker: WorkerProcess) -> None:
    trainset = QA[:2]
    _dummy(dspy_worker, "opt", [{"answer": "4"}, {"answer": "Paris"}, {"answer": "blue"}])
    handle = dspy_worker.call("create", {"class": "dspy.Predict", "args": ["question -> answer"]},
                              session="opt")["handle"]
    call_id = dspy_worker.start_call("optimize", {
        "handle": handle, "optimizer": "BootstrapFewShot", "trainset": trainset, "input_keys": ["question"],
        "metric": "exact_match", "optimizer_kwargs": {"max_bootstrapped_demos": 2, "max_labeled_demos": 0},
    }, session="opt")
    result, skipped = dspy_worker.recv_until(lambda m: m.get("id") == call_id and m["t"] in ("result", "error"))
    assert result["t"] == "result", result
    events = [m["value"] for m in skipped if m.get("id") == call_id and m["t"] == "chunk"]
    assert events[0] == {"event": "started", "optimizer": "BootstrapFewShot", "trainset": 2}
    assert events[-1] == {"event": "finished"}
    assert {"event": "lm_calls", "count": 2} in events
    optimized = result["value"]
    assert optimized["handle"] != handle
    demos = optimized["state"]["demos"]
    assert [(d["question"], d["answer"]) for d in demos] == [(q["question"], q["answer"]) for q in trainset]
    # The optimized program answers with its demos in the prompt.
    prediction = dspy_worker.call("call", {"handle": optimized["handle"], "kwargs": {"question": "Sky?"}},
                                  session="opt")
    assert prediction == {"answer": "blue"}


def test_cancel_optimize_while_it_waits_for_credit(dspy_worker: WorkerProcess) -> None:
    handle = dspy_worker.call("create", {"class": "dspy.Predict", "args": ["question -> answer"]},
                              session="optcancel")["handle"]
    call_id = dspy_worker.start_call("optimize", {
        "handle": handle, "optimizer": "BootstrapFewShot", "trainset": QA, "input_keys": ["question"],
        "metric": "exact_match",
    }, session="optcancel", credits=1)
    started = dspy_worker.recv()
    assert started["t"] == "chunk" and started["value"]["event"] == "started"
    dspy_worker.send({"t": "cancel", "id": call_id})
    assert dspy_worker.reply_for(call_id)["error"]["type"] == "Cancelled"
    assert dspy_worker.call("ping", {"still": "serving"}) == {"still": "serving"}


def test_mipro_v2_optimize_streams_its_log_under_a_small_credit_window(dspy_worker: WorkerProcess) -> None:
    # One answer map serves every predictor MIPROv2 runs: the task's and its instruction proposer's.
    answer = {"answer": "4", "proposed_instruction": "Answer the question.", "observations": "Arithmetic.",
              "summary": "Arithmetic.", "program_description": "Answers.", "module_description": "Answers."}
    _dummy(dspy_worker, "mipro", [answer] * 500)
    handle = dspy_worker.call("create", {"class": "dspy.Predict", "args": ["question -> answer"]},
                              session="mipro")["handle"]
    trainset = [{"question": f"{i} + 4 - {i}", "answer": "4"} for i in range(4)]
    call_id = dspy_worker.start_call("optimize", {
        "handle": handle, "optimizer": "MIPROv2", "trainset": trainset, "valset": trainset,
        "input_keys": ["question"], "metric": "exact_match",
        "optimizer_kwargs": {"auto": None, "num_candidates": 2, "max_bootstrapped_demos": 1,
                             "max_labeled_demos": 1, "verbose": False, "num_threads": 1},
        "compile_kwargs": {"num_trials": 2, "minibatch": False},
    }, session="mipro", credits=4)
    events, reply = dspy_worker.consume_stream(call_id)
    assert reply["t"] == "result", reply.get("error")
    messages = [e["message"] for e in events if e["event"] == "log"]
    assert any("PROPOSE INSTRUCTION CANDIDATES" in m for m in messages)
    assert any(m.startswith("Returning best identified program") for m in messages)
    assert {"event": "evaluate", "score": 100.0} in events
    assert reply["value"]["state"]["signature"]["fields"][1]["prefix"] == "Answer:"


def test_gepa_optimize_with_a_reflection_lm_given_by_reference(dspy_worker: WorkerProcess) -> None:
    _dummy(dspy_worker, "gepa", [{"answer": "4"}] * 200)
    handle = dspy_worker.call("create", {"class": "dspy.Predict", "args": ["question -> answer"]},
                              session="gepa")["handle"]
    trainset = [{"question": f"q{i}", "answer": "4" if i % 2 else "5"} for i in range(4)]
    reflection = {"$lm": {"dummy": [{"new_instruction": "Answer with the number 4."}] * 50, "adapter": "json"}}
    call_id = dspy_worker.start_call("optimize", {
        "handle": handle, "optimizer": "GEPA", "trainset": trainset, "valset": trainset,
        "input_keys": ["question"], "metric": "exact_match",
        "optimizer_kwargs": {"max_metric_calls": 12, "reflection_lm": reflection, "num_threads": 1},
    }, session="gepa")
    events, reply = dspy_worker.consume_stream(call_id)
    assert reply["t"] == "result", reply.get("error")
    messages = [e["message"] for e in events if e["event"] == "log"]
    assert any("Proposed new text for self: Answer with the number 4." in m for m in messages)
    assert "handle" in reply["value"]


def test_react_uses_a_node_tool_through_a_callback(dspy_worker: WorkerProcess) -> None:
    session = "react"
    dspy_worker.call("register_tools", {"tools": [{
        "name": "search", "description": "Searches the web for a query.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    }]}, session=session)
    _dummy(dspy_worker, session, [
        {"next_thought": "I should search.", "next_tool_name": "search",
         "next_tool_args": {"query": "capital of France"}},
        {"next_thought": "I know enough.", "next_tool_name": "finish", "next_tool_args": {}},
        {"reasoning": "The search said Paris.", "answer": "Paris"},
    ])
    handle = dspy_worker.call("create", {"class": "dspy.ReAct", "args": ["question -> answer"],
                                         "kwargs": {"tools": [{"$tool": "search"}], "max_iters": 3}},
                              session=session)["handle"]
    call_id = dspy_worker.start_call("call", {"handle": handle, "kwargs": {"question": "Capital of France?"}},
                                     session=session)
    callback = dspy_worker.recv()
    assert (callback["t"], callback["name"], callback["args"]) == ("callback", "search", {"query": "capital of France"})
    dspy_worker.send({"t": "callback_result", "id": callback["id"], "value": "Paris is the capital of France."})
    prediction = dspy_worker.reply_for(call_id)
    assert prediction["t"] == "result", prediction
    assert prediction["value"]["answer"] == "Paris"
    assert prediction["value"]["trajectory"]["observation_0"] == "Paris is the capital of France."


class _ChatCompletions(http.server.BaseHTTPRequestHandler):
    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        type(self).requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        payload = json.dumps({
            "id": "chatcmpl-test", "object": "chat.completion", "created": 1700000000, "model": body.get("model"),
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": "[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]"}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


def test_dspy_lm_against_an_openai_compatible_loopback_server() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ChatCompletions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    try:
        with WorkerProcess(worker_id="http", env=env) as proc:
            proc.ready()
            configured = proc.call("configure_lm", {
                "model": "openai/test-model", "api_base": f"http://127.0.0.1:{server.server_port}/v1",
                "api_key": "sk-test", "cache": False, "num_retries": 0,
            })
            assert configured["scope"] == "global" and configured["model"] == "openai/test-model"
            handle = proc.call("create", {"class": "dspy.Predict", "args": ["question -> answer"]})["handle"]
            prediction = proc.call("call", {"handle": handle, "kwargs": {"question": "Capital of France?"}})
            assert prediction == {"answer": "Paris"}
    finally:
        server.shutdown()
        server.server_close()
    (request,) = _ChatCompletions.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test"
    assert request["body"]["model"] == "test-model"
    assert "Capital of France?" in json.dumps(request["body"]["messages"])
