"""`propose_instructions`: DSPy's GroundedProposer on a session's program, with the session's dspy.LM pointed at an
OpenAI-compatible loopback server that answers the proposer's prompts; the proposer is reached through the grant
(its arguments by the table, left out by an operator's --allow), and bad arguments are refused before any LM call."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any, Iterator

import pytest
from harness import WorkerProcess

ENV = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
TRAINSET = [{"question": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(4)]


class _Proposer(http.server.BaseHTTPRequestHandler):
    """Answers every output field the system message names; `proposed_instruction` is "Candidate <k>", k counting
    the proposals asked for so far."""

    systems: list[str] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
        with type(self).lock:
            type(self).systems.append(system)
            proposals = sum("`proposed_instruction`" in s for s in type(self).systems)
        outputs = system.split("Your output fields are:")[1].split("All interactions")[0]
        fields = [part.split("`")[0] for part in outputs.split("`")[1::2] if part]
        content = "".join(
            f"[[ ## {f} ## ]]\n{f'Candidate {proposals}' if f == 'proposed_instruction' else f + ' text'}\n\n"
            for f in dict.fromkeys(fields)) + "[[ ## completed ## ]]"
        payload = json.dumps({
            "id": "chatcmpl-test", "object": "chat.completion", "created": 1700000000, "model": body.get("model"),
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proposer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _configure(proc: WorkerProcess, server: http.server.ThreadingHTTPServer, session: str,
               predict: str = "dspy.Predict") -> str:
    proc.call("configure_lm", {"model": "openai/proposer", "api_base": f"http://127.0.0.1:{server.server_port}/v1",
                               "api_key": "sk-test", "cache": False, "num_retries": 0}, session=session)
    return proc.call("create", {"class": predict, "args": ["question -> answer"]}, session=session)["handle"]


def test_proposes_n_instructions_with_the_session_lm(server: http.server.ThreadingHTTPServer) -> None:
    _Proposer.systems.clear()
    with WorkerProcess(worker_id="propose", env=ENV) as proc:
        proc.ready()
        handle = _configure(proc, server, "p")
        result = proc.call("propose_instructions", {"handle": handle, "n": 3, "seed": 1}, session="p")
    assert result["proposer"] == "dspy.propose.grounded_proposer.GroundedProposer"
    assert result["instructions"] == [["Candidate 1", "Candidate 2", "Candidate 3"]]
    # Without a trainset there is no dataset summary: every request was a proposal, each carrying the current
    # instructions as its basic instruction.
    assert len(_Proposer.systems) == 3
    assert all("`basic_instruction`" in s and "`dataset_description`" not in s for s in _Proposer.systems)


def test_a_trainset_adds_the_data_aware_summary(server: http.server.ThreadingHTTPServer) -> None:
    _Proposer.systems.clear()
    with WorkerProcess(worker_id="propose-data", env=ENV) as proc:
        proc.ready()
        handle = _configure(proc, server, "d")
        result = proc.call("propose_instructions", {"handle": handle, "n": 2, "trainset": TRAINSET,
                                                    "input_keys": ["question"],
                                                    "proposer_kwargs": {"view_data_batch_size": 2}}, session="d")
    assert len(result["instructions"][0]) == 2
    proposals = [s for s in _Proposer.systems if "`proposed_instruction`" in s]
    assert len(proposals) == 2 and all("`dataset_description`" in s for s in proposals)
    assert any("`observations`" in s for s in _Proposer.systems)  # DSPy's dataset descriptor ran first


def test_refusals(server: http.server.ThreadingHTTPServer) -> None:
    _Proposer.systems.clear()
    with WorkerProcess(worker_id="propose-refuse", env=ENV) as proc:
        proc.ready()
        handle = _configure(proc, server, "r")
        assert proc.call_error("propose_instructions", {"handle": handle, "n": 0}, session="r")["type"] == "BadArguments"
        refused = proc.call_error("propose_instructions", {"handle": handle, "n": 1,
                                                           "proposer_kwargs": {"verbose": True}}, session="r")
        assert refused["type"] == "NotAllowed" and "verbose" in refused["message"]
        # The proposer is not something `create` builds or Node holds.
        built = proc.call_error("create", {"class": "dspy.propose.GroundedProposer", "kwargs": {}}, session="r")
        assert built["type"] == "NotAllowed"
    with WorkerProcess("--allow", "dspy.predict.predict.Predict", worker_id="propose-allow", env=ENV) as proc:
        proc.ready()
        handle = _configure(proc, server, "a", "dspy.predict.predict.Predict")
        refused = proc.call_error("propose_instructions", {"handle": handle, "n": 1}, session="a")
        assert refused["type"] == "NotAllowed" and "GroundedProposer" in refused["message"]
    assert _Proposer.systems == []  # nothing refused reached the LM
