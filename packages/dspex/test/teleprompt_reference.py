"""Real DSPy optimizers for the DSPex teleprompt tests: one JSON request on stdin, one JSON answer on stdout.

Compiles the same program on the same trainset with DummyLM answering by question key (the first key contained in
the last message), and answers with the demos DSPy put on every predictor (dump_state), or DSPy's error.
"""

import contextlib
import json
import logging
import sys

logging.disable(logging.CRITICAL)

import dspy  # noqa: E402
from dspy.utils import DummyLM  # noqa: E402


class TwoStep(dspy.Module):
    def __init__(self):
        super().__init__()
        self.draft = dspy.Predict("question -> draft")
        self.answer = dspy.ChainOfThought("question, draft -> answer")

    def forward(self, question):
        draft = self.draft(question=question).draft
        return self.answer(question=question, draft=draft)


def build(kind):
    if kind == "predict":
        return dspy.Predict("question -> answer")
    if kind == "cot":
        return dspy.ChainOfThought("question -> answer")
    if kind == "two_step":
        return TwoStep()
    raise ValueError(f"unknown program {kind}")


def metric_for(spec):
    field = spec["field"]

    def exact(example, pred, trace=None):
        return str(example[field]) == str(pred[field])

    def scored(example, pred, trace=None):
        return 1.0 if str(example[field]) == str(pred[field]) else 0.25

    return exact if spec["kind"] == "exact" else scored


def main():
    request = json.load(sys.stdin)
    trainset = [dspy.Example(**row).with_inputs(*request["input_keys"]) for row in request["trainset"]]
    program = build(request["program"])
    lm = DummyLM(request["answers"])
    kwargs = dict(request.get("kwargs") or {})
    with dspy.context(lm=lm):
        if request["optimizer"] == "LabeledFewShot":
            compiled = dspy.LabeledFewShot(**kwargs).compile(program, trainset=trainset, **(request.get("compile") or {}))
        else:
            optimizer = dspy.BootstrapFewShot(metric=metric_for(request["metric"]), **kwargs)
            try:
                compiled = optimizer.compile(program, trainset=trainset)
            except Exception as error:  # noqa: BLE001 - the test compares DSPy's failure
                return {"error": type(error).__name__, "message": str(error)}
    state = compiled.dump_state()
    if "demos" in state:  # a bare Predict dumps its own state, not a {name: state} map
        state = {"self": state}
    return {"demos": {name: entry["demos"] for name, entry in state.items()}, "compiled": bool(getattr(compiled, "_compiled", False))}


if __name__ == "__main__":
    with contextlib.redirect_stdout(sys.stderr):  # DSPy prints its bootstrap summary; stdout carries the answer
        answer = main()
    json.dump(answer, sys.stdout, ensure_ascii=False)
