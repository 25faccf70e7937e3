"""Real DSPy's usage tracking for usage_dspy.test.ts: reads one JSON request on stdin, answers JSON on stdout.

{"action": "calls", "cases": [[{"model", "usage"}, ...], ...]}: each case is one top-level DSPy module call whose
Predict calls go, in order, to dspy.LM(model) on a loopback OpenAI server that replies with that usage (left out
of the body when null); the answer is each case's prediction.get_lm_usage() as compact JSON.
{"action": "merge", "cases": [[{"model", "usage"}, ...], ...]}: the usage dicts given to DSPy's UsageTracker
directly; the answer is each case's get_total_tokens() as compact JSON.
"""

import json
import logging
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
logging.disable(logging.WARNING)

import dspy  # noqa: E402
from dspy.utils.usage_tracker import UsageTracker  # noqa: E402

REPLY = "[[ ## answer ## ]]\nx\n\n[[ ## completed ## ]]"


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def serve(queue):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            usage = queue.pop(0)
            body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}]}
            if usage is not None:
                body["usage"] = usage
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Calls(dspy.Module):
    def __init__(self, lms):
        super().__init__()
        self.lms = lms
        self.predict = dspy.Predict("question -> answer")

    def forward(self, question):
        for lm in self.lms:
            with dspy.context(lm=lm):
                self.predict(question=question)
        return dspy.Prediction(answer="x")


def run_calls(cases):
    queue = []
    server = serve(queue)
    base = f"http://127.0.0.1:{server.server_port}/v1"
    answers = []
    for calls in cases:
        queue.extend(call["usage"] for call in calls)
        lms = [dspy.LM(call["model"], api_base=base, api_key="k", cache=False) for call in calls]
        with dspy.context(track_usage=True):
            prediction = Calls(lms)(question="q")
        answers.append(compact(prediction.get_lm_usage()))
    server.shutdown()
    return answers


def run_merge(cases):
    answers = []
    for entries in cases:
        tracker = UsageTracker()
        for entry in entries:
            tracker.add_usage(entry["model"], entry["usage"])
        answers.append(compact(tracker.get_total_tokens()))
    return answers


def main():
    request = json.load(sys.stdin)
    run = run_calls if request["action"] == "calls" else run_merge
    return {"answers": run(request["cases"])}


if __name__ == "__main__":
    json.dump(main(), sys.stdout, ensure_ascii=False)
