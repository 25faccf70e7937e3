"""Real DSPy for the random differential test (test/adapters/differential.test.ts): one process, many cases.

Reads a JSON array of cases on stdin (the golden case shape: signature, instructions, ops, demos, inputs,
chat_completions, json_completions; values tagged where JSON cannot say what Python holds) and writes one JSON
array: per case DSPy's signature description, ChatAdapter/JSONAdapter messages, the structured-output schema and
the parse results, or the error DSPy raised while building the signature.

Run from the repository root:  .venv/bin/python packages/dspex/scripts/diff_render.py < cases.json
"""

from __future__ import annotations

import json
import math
import sys
import typing
import warnings
from pathlib import Path
from typing import Any

warnings.simplefilter("ignore")

import dspy  # noqa: E402
import pydantic  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from gen_golden import build_signature, describe, response_format, with_history  # noqa: E402
from dspy.utils.exceptions import AdapterParseError  # noqa: E402


def decode(value: Any) -> Any:
    """Tagged JSON to the Python value the caller holds: {"$t": "float"|"tuple"|"set"|"dict", "v": ...}."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        tag = value.get("$t")
        if tag == "float":
            return float(value["v"])
        if tag == "tuple":
            return tuple(decode(v) for v in value["v"])
        if tag == "set":
            return set(decode(v) for v in value["v"])
        if tag == "dict":
            return {k: decode(v) for k, v in value["v"]}
        return {k: decode(v) for k, v in value.items()}
    return value


def encode(value: Any) -> Any:
    """A parse result as comparable JSON: models dumped, sets sorted, tuples as lists, non-finite floats tagged."""
    if isinstance(value, pydantic.BaseModel):
        return encode(value.model_dump())
    if isinstance(value, (set, frozenset)):
        return sorted((encode(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"$t": "dict", "v": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return {"$t": "float", "v": repr(value)}
    return value


def run_parse(adapter: dspy.ChatAdapter, sig: Any, completion: str) -> dict[str, Any]:
    try:
        return {"ok": True, "result": encode(adapter.parse(sig, completion))}
    except AdapterParseError as error:
        return {"ok": False, "error": str(error)}
    except Exception as error:  # noqa: BLE001 - any other failure is a finding the test reports
        return {"ok": False, "error": f"{type(error).__name__}: {error}", "raised": type(error).__name__}


def render(case: dict[str, Any]) -> dict[str, Any]:
    # typing caches Union[...] by equality, so `Union[int, None]` would come back as an earlier case's
    # `Union[None, int]`: each case starts from empty caches, as a fresh process does.
    for clear in typing._cleanups:  # noqa: SLF001
        clear()
    try:
        sig = build_signature(case)
    except Exception as error:  # noqa: BLE001 - DSPy refusing a signature is an answer too
        return {"id": case["id"], "rejected": f"{type(error).__name__}: {error}"}
    demos = [with_history(sig, decode(d)) for d in case.get("demos", [])]
    inputs = with_history(sig, decode(case.get("inputs", {})))
    chat, json_adapter = dspy.ChatAdapter(), dspy.JSONAdapter()
    out: dict[str, Any] = {"id": case["id"], **describe(sig)}
    for name, adapter in (("chat", chat), ("json", json_adapter)):
        try:
            out[name] = adapter.format(sig, demos, inputs)
        except Exception as error:  # noqa: BLE001
            out[name] = f"{type(error).__name__}: {error}"
    out["response_format"] = response_format(sig)
    out["parses"] = {
        "chat": [run_parse(chat, sig, c) for c in case.get("chat_completions", [])],
        "json": [run_parse(json_adapter, sig, c) for c in case.get("json_completions", [])],
    }
    return out


def main() -> None:
    cases = json.load(sys.stdin)
    # ASCII escapes carry lone surrogates (a completion cut inside an emoji) that UTF-8 cannot.
    json.dump([render(c) for c in cases], sys.stdout, ensure_ascii=True, allow_nan=False)


if __name__ == "__main__":
    main()
