"""Golden files for dspex's signature engine and adapters, produced by REAL DSPy.

For every case below, DSPy parses the string signature, applies the same field operations dspex applies, and
records: the fields DSPy ends up with, the exact messages ChatAdapter.format and JSONAdapter.format produce,
the structured-output schema JSONAdapter would send, and what ChatAdapter.parse / JSONAdapter.parse make of
sample completions (values or the AdapterParseError text). dspex's tests compare against these byte for byte.

Run from the repository root:  .venv/bin/python packages/dspex/scripts/gen_golden.py [output-dir]
(default output: packages/dspex/test/golden). The cases themselves live in golden_cases.py.
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
from dspy.adapters.json_adapter import _get_structured_outputs_response_format  # noqa: E402
from dspy.clients.legacy_requests import _strict_json_schema  # noqa: E402
from dspy.adapters.utils import get_annotation_name  # noqa: E402
from dspy.utils.exceptions import AdapterParseError  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from golden_cases import CASES, CUSTOM_TYPES, INJECTION, PARSE_VALUE_TEXTS, PARSE_VALUE_TYPES  # noqa: E402
from dspy.adapters.utils import parse_value  # noqa: E402


def jsonable(value: Any) -> Any:
    """A parse result as JSON: models dumped, sets sorted, tuples as lists."""
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return repr(value)
    return value


def typed(value: Any, annotation: Any) -> Any:
    """Numbers in float positions become floats, as DSPy holds them once parsed (JSON cannot say 1.0)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin in (list, set, frozenset) and args and isinstance(value, list):
        return [typed(v, args[0]) for v in value]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: typed(v, args[1]) for k, v in value.items()}
    if origin is typing.Union and float in args and int not in args:
        return typed(value, float)
    return value


def with_history(signature: type[dspy.Signature], record: dict[str, Any]) -> dict[str, Any]:
    """A dspy.History field's {"messages": [...]} as the History object DSPy's adapters read (.messages)."""
    fields = signature.fields
    return {
        k: dspy.History(**v) if k in fields and fields[k].annotation is dspy.History and isinstance(v, dict) else v
        for k, v in record.items()
    }


def typed_record(signature: type[dspy.Signature], record: dict[str, Any]) -> dict[str, Any]:
    fields = signature.fields

    def typed_field(name: str, value: Any) -> Any:
        if fields[name].annotation is dspy.History and isinstance(value, dict):
            # A turn holds what the program took and gave: its values typed as the signature's fields.
            return {"messages": [typed_record(signature, m) for m in value["messages"]]}
        return typed(value, fields[name].annotation)

    return with_history(signature, {k: typed_field(k, v) if k in fields else v for k, v in record.items()})


def build_signature(case: dict[str, Any]) -> type[dspy.Signature]:
    # `History` resolves as it does after `from dspy import History` in the caller's module.
    kwargs = {"custom_types": {**CUSTOM_TYPES, "History": dspy.History}}
    if case.get("instructions") is not None:
        sig = dspy.Signature(case["signature"], case["instructions"], **kwargs)
    else:
        sig = dspy.Signature(case["signature"], **kwargs)
    for op in case.get("ops", []):
        kind = op["op"]
        if kind == "update":
            extra = {k: op[k] for k in ("desc", "prefix", "constraints") if k in op}
            sig = sig.with_updated_fields(op["name"], **extra)
        elif kind in ("prepend", "append", "insert"):
            field_cls = dspy.InputField if op["role"] == "input" else dspy.OutputField
            extra = {k: op[k] for k in ("desc", "prefix") if k in op}
            annotation = None
            if "type" in op:
                probe = dspy.Signature(f"probe_field: {op['type']} -> probe_out", **kwargs)
                annotation = probe.input_fields["probe_field"].annotation
            field = field_cls(**extra)
            if kind == "insert":
                sig = sig.insert(op["index"], op["name"], field, annotation)
            else:
                sig = getattr(sig, kind)(op["name"], field, annotation)
        elif kind == "delete":
            sig = sig.delete(op["name"])
        elif kind == "with_instructions":
            sig = sig.with_instructions(op["text"])
        elif kind == "append_instructions":
            sig = sig.append_instructions(op["text"])
        else:
            raise ValueError(f"unknown op {kind}")
    return sig


def describe(sig: type[dspy.Signature]) -> dict[str, Any]:
    fields = []
    for name, info in sig.fields.items():
        extra = info.json_schema_extra
        fields.append({
            "name": name,
            "role": extra["__dspy_field_type"],
            "annotation": get_annotation_name(info.annotation),
            "prefix": extra["prefix"],
            "desc": extra["desc"],
            **({"constraints": extra["constraints"]} if extra.get("constraints") else {}),
        })
    return {"instructions": sig.instructions, "signature": sig.signature, "fields": fields}


def response_format(sig: type[dspy.Signature]) -> Any:
    try:
        model = _get_structured_outputs_response_format(sig)
    except ValueError:
        return None  # dict outputs: DSPy uses JSON mode ({"type": "json_object"})
    return {"name": model.__name__, "schema": _strict_json_schema(model.model_json_schema()), "strict": True}


def run_parse(adapter: dspy.ChatAdapter, sig: type[dspy.Signature], completion: str) -> dict[str, Any]:
    try:
        return {"completion": completion, "ok": True, "result": jsonable(adapter.parse(sig, completion))}
    except AdapterParseError as error:
        return {"completion": completion, "ok": False, "error": str(error)}
    except Exception as error:  # a non-adapter error is a finding too: record it
        return {"completion": completion, "ok": False, "error": f"{type(error).__name__}: {error}", "raised": type(error).__name__}


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    sig = build_signature(case)
    demos = [typed_record(sig, d) for d in case.get("demos", [])]
    inputs = typed_record(sig, case.get("inputs", {}))
    chat, json_adapter = dspy.ChatAdapter(), dspy.JSONAdapter()
    out = {key: case[key] for key in ("id", "signature", "instructions", "ops", "demos", "inputs") if key in case}
    out["expected"] = {
        **describe(sig),
        "chat": chat.format(sig, demos, inputs),
        "json": json_adapter.format(sig, demos, inputs),
        "response_format": response_format(sig),
    }
    out["parses"] = {
        "chat": [run_parse(chat, sig, c) for c in case.get("chat_completions", [])],
        "json": [run_parse(json_adapter, sig, c) for c in case.get("json_completions", [])],
    }
    return out


def neutralise(text: str) -> str:
    """dspex's marker neutralisation, reproduced to show DSPy's own parser is not fooled by it either."""
    import re

    return re.sub(r"\[\[ ## (\w+) ## \]\]", r"\\[\\[ ## \1 ## \\]\\]", text)


def run_injection() -> dict[str, Any]:
    sig = dspy.Signature(INJECTION["signature"])
    messages = dspy.ChatAdapter().format(sig, [], INJECTION["inputs"])
    # An LM that echoes the request before answering (small models do): the echo carries the injected header.
    echo = messages[-1]["content"] + INJECTION["answer_suffix"]
    neutral_echo = neutralise(messages[-1]["content"]) + INJECTION["answer_suffix"]
    return {
        **INJECTION,
        "dspy_messages": messages,
        "echo_completion": echo,
        "dspy_parse_of_echo": jsonable(dspy.ChatAdapter().parse(sig, echo)),
        "dspy_parse_of_neutralised_echo": jsonable(dspy.ChatAdapter().parse(sig, neutral_echo)),
    }


def run_parse_values() -> list[dict[str, Any]]:
    rows = []
    for type_text in PARSE_VALUE_TYPES:
        annotation = dspy.Signature(f"x -> y: {type_text}", custom_types=CUSTOM_TYPES).output_fields["y"].annotation
        for text in PARSE_VALUE_TEXTS:
            try:
                rows.append({"type": type_text, "text": text, "ok": True, "result": jsonable(parse_value(text, annotation))})
            except Exception as error:  # pydantic's ValidationError (a ValueError), or anything parse_value raises
                rows.append({"type": type_text, "text": text, "ok": False, "error": type(error).__name__})
    return rows


def main() -> None:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "test" / "golden"
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "custom_types.json": {name: model.model_json_schema() for name, model in CUSTOM_TYPES.items()},
        "cases.json": {"dspy_version": dspy.__version__, "pydantic_version": pydantic.__version__, "cases": [run_case(c) for c in CASES]},
        "injection.json": run_injection(),
        "parse_values.json": run_parse_values(),
    }
    for name, content in files.items():
        (out_dir / name).write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {', '.join(files)} to {out_dir} ({len(CASES)} cases)")


if __name__ == "__main__":
    main()
