"""Real DSPy for the DSPex tests: reads one JSON request on stdin, answers one JSON object on stdout.

Builds Predict / ChainOfThought / ReAct programs the way the native tests do, saves and loads DSPy's JSON
state, renders prompts with DSPy's own adapters, and runs programs against DummyLM to record their messages.
"""

import json
import logging
import os
import sys
import tempfile

logging.disable(logging.WARNING)

import dspy  # noqa: E402
from dspy.utils import DummyLM  # noqa: E402


def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"Sunny in {city}"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


TOOLS = {"get_weather": get_weather, "add": add}


def build(spec):
    signature = dspy.Signature(spec["signature"], spec["instructions"]) if spec.get("instructions") else spec["signature"]
    kind = spec["kind"]
    if kind == "Predict":
        return dspy.Predict(signature)
    if kind == "ChainOfThought":
        return dspy.ChainOfThought(signature)
    if kind == "ReAct":
        return dspy.ReAct(signature, tools=[TOOLS[name] for name in spec.get("tools", [])], max_iters=spec.get("max_iters", 20))
    raise ValueError(f"unknown kind {kind}")


def saved_text(program):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "program.json")
        program.save(path)
        with open(path, encoding="utf-8") as f:
            return f.read()


def adapter_of(name):
    return dspy.JSONAdapter() if name == "json" else dspy.ChatAdapter()


def main():
    request = json.load(sys.stdin)
    action = request["action"]
    program = build(request["program"])
    if request.get("state") is not None:
        # Through program.load(path), as a user loads a file: it checks metadata.dependency_versions too.
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "state.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(request["state"], f, ensure_ascii=False)
            program.load(path)
    if request.get("demos") is not None:
        for name, demos in request["demos"].items():
            dict(program.named_predictors())[name].demos = [dspy.Example(**demo) for demo in demos]

    if action == "save":
        return {"json": saved_text(program)}

    if action == "format":
        adapter = adapter_of(request.get("adapter"))
        messages = {}
        for name, predictor in program.named_predictors():
            inputs = request["inputs"][name]
            messages[name] = adapter.format(predictor.signature, predictor.demos, inputs)
        return {"messages": messages}

    if action == "run":
        lm = DummyLM(request["answers"], adapter=adapter_of(request.get("adapter")))
        with dspy.context(lm=lm, adapter=adapter_of(request.get("adapter"))):
            prediction = program(**request["inputs"])
        history = [[{"role": m["role"], "content": m["content"]} for m in entry["messages"]] for entry in lm.history]
        return {"prediction": prediction.toDict(), "history": history}

    raise ValueError(f"unknown action {action}")


if __name__ == "__main__":
    json.dump(main(), sys.stdout, ensure_ascii=False)
