"""`call_stream`: DSPy's streamify over the bridge. Field chunks as a real dspy.LM streams from a loopback
OpenAI-compatible server (markers split across SSE chunks), whole fields when the LM does not stream (DummyLM),
and the same grant check as `call`."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any, Iterator

import pytest
from harness import WorkerProcess


@pytest.fixture(scope="module")
def worker() -> Iterator[WorkerProcess]:
    with WorkerProcess(worker_id="stream") as proc:
        proc.ready()
        yield proc


def _fields(chunks: list[Any]) -> dict[str, str]:
    text: dict[str, str] = {}
    for chunk in chunks:
        if chunk["type"] == "field":
            text[chunk["field"]] = text.get(chunk["field"], "") + chunk["delta"]
    return text


def test_a_dummy_lm_gives_each_field_whole_then_the_prediction(worker: WorkerProcess) -> None:
    worker.call("configure_lm", {"dummy": [{"reasoning": "Blue light scatters.", "answer": "blue"}]}, session="cot")
    handle = worker.call("create", {"class": "dspy.ChainOfThought", "args": ["question -> answer"]},
                         session="cot")["handle"]
    chunks, reply = worker.consume_stream(worker.start_call("call_stream", {
        "handle": handle, "kwargs": {"question": "Sky colour?"}}, session="cot"))
    assert reply["t"] == "result", reply
    assert reply["value"] == {"reasoning": "Blue light scatters.", "answer": "blue"}
    assert chunks == [
        {"type": "field", "field": "reasoning", "delta": "Blue light scatters.", "predictor": "predict"},
        {"type": "field", "field": "answer", "delta": "blue", "predictor": "predict"},
    ]


def test_call_stream_is_granted_as_call_is(worker: WorkerProcess) -> None:
    handle = worker.call("create", {"class": "dspy.Predict", "args": ["question -> answer"]}, session="grant")
    lm = worker.call("set_attr", {"handle": handle["handle"], "name": "lm", "value": {"$lm": {"dummy": []}}},
                     session="grant")
    assert lm is True
    lm_handle = worker.call("get_attr", {"handle": handle["handle"], "name": "lm"}, session="grant")["$handle"]
    _, reply = worker.consume_stream(worker.start_call("call_stream", {"handle": lm_handle, "kwargs": {}},
                                                       session="grant"))
    assert reply["t"] == "error" and reply["error"]["type"] == "NotAllowed", reply
    _, reply = worker.consume_stream(worker.start_call("call_stream", {
        "handle": handle["handle"], "kwargs": {"question": "q", "config": {"success_callback": ["x"]}}}, session="grant"))
    assert reply["t"] == "error" and reply["error"]["type"] == "NotAllowed", reply


PIECES = ["[[ ## ans", "wer ## ]]\nPar", "is, the ", "capital", "\n\n[[ ## comp", "leted ## ]]"]


class _StreamingCompletions(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        assert body.get("stream") is True, body
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in [*PIECES, None]:
            delta = {"content": piece} if piece is not None else {}
            chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1700000000, "model": "test-model",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": None if piece else "stop"}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args: Any) -> None:
        pass


def test_a_streaming_dspy_lm_streams_the_field_without_its_markers() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StreamingCompletions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    try:
        with WorkerProcess(worker_id="stream-http", env=env) as proc:
            proc.ready()
            proc.call("configure_lm", {"model": "openai/test-model", "api_base": f"http://127.0.0.1:{server.server_port}/v1",
                                       "api_key": "sk-test", "cache": False, "num_retries": 0})
            handle = proc.call("create", {"class": "dspy.Predict", "args": ["question -> answer"]})["handle"]
            chunks, reply = proc.consume_stream(proc.start_call("call_stream", {
                "handle": handle, "kwargs": {"question": "Capital of France?"}}))
    finally:
        server.shutdown()
        server.server_close()
    assert reply["t"] == "result", reply
    assert reply["value"] == {"answer": "Paris, the capital"}
    fields = [c for c in chunks if c["type"] == "field"]
    assert len(fields) > 1, chunks  # streamed, not one whole-field delta
    assert all("[[" not in c["delta"] and "##" not in c["delta"] for c in fields)
    assert {c["predictor"] for c in fields} == {"self"}
    assert _fields(chunks)["answer"].strip() == "Paris, the capital"
