"""Generates test/vectors/protocol.json: wire frames both the Python and the Node test suites check.

Run `python python/tests/gen_vectors.py` after changing MESSAGES or VALUES; test_framing.py fails when the file
and these lists drift apart. MESSAGES stay JSON-representable; VALUES are the value table's extension types
(BigInt, Date, Set, Map, typed arrays) and the floats JSON cannot hold, written as tagged JSON (see `revive`) and
framed as the value of a `result` message, so both ends check the same bytes for them too.
"""

from __future__ import annotations

import datetime
import json
import struct
from pathlib import Path
from typing import Any

from dspex_bridge.framing import DEFAULT_MAX_FRAME_BYTES, encode_frame
from dspex_bridge.values import EPOCH, JsBigInt, JsMap, TypedArray

VECTORS_PATH = Path(__file__).resolve().parents[2] / "test" / "vectors" / "protocol.json"

TRACEBACK = 'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\nValueError: boom\n'

MESSAGES: list[tuple[str, dict[str, Any]]] = [
    ("ready", {"t": "ready", "pid": 4242, "worker_id": "w-1",
               "versions": {"python": "3.11.7", "dspy": "3.4.1", "dspex_bridge": "0.1.0"}}),
    ("call_minimal", {"t": "call", "id": 1, "cmd": "ping", "args": {}, "session": None}),
    ("call_with_session_and_credits", {"t": "call", "id": 2, "cmd": "count", "args": {"n": 3},
                                       "session": "sess-α", "credits": 16}),
    ("call_nested_args", {"t": "call", "id": 3, "cmd": "call", "session": "s1", "args": {
        "handle": "h1",
        "kwargs": {"question": "What is 1.5 + 2?", "context": ["first", "second"], "options": {
            "temperature": 0.7, "top_p": 0.95, "stop": None, "stream": False, "logprobs": True}},
    }}),
    ("call_ints", {"t": "call", "id": 4, "cmd": "ping", "session": None, "args": {
        "zero": 0, "fixint_max": 127, "uint8": 128, "uint8_max": 255, "uint16": 256, "uint16_max": 65535,
        "uint32": 65536, "uint32_max": 4294967295, "neg_fixint": -1, "neg_fixint_min": -32, "int8": -33,
        "int8_min": -128, "int16": -129, "int16_min": -32768, "int32": -32769, "int32_min": -2147483648,
    }}),
    ("call_floats", {"t": "call", "id": 5, "cmd": "ping", "session": None, "args": {
        "half": 1.5, "neg": -2.25, "tenth": 0.1, "pi": 3.141592653589793, "tiny": 1.5e-10, "big": 123456.789,
    }}),
    ("call_unicode", {"t": "call", "id": 6, "cmd": "ping", "session": None, "args": {
        "greek": "αβγ", "cjk": "日本語のテキスト", "emoji": "🙂👍", "accents": "naïve café", "empty": "",
        "long": "a string that is longer than thirty-one bytes, so it needs a str8 header",
        "ключ": "значение",
    }}),
    ("call_containers", {"t": "call", "id": 7, "cmd": "ping", "session": None, "args": {
        "empty_map": {}, "empty_list": [], "list16": list(range(16)),
        "map16": {f"k{i:02d}": i for i in range(16)},
        "deep": {"a": [{"b": [{"c": [1, [2, [3, None]]]}]}]},
        "mixed": [1, -1, 1.5, "s", True, False, None, {"x": []}],
    }}),
    ("call_unknown_command", {"t": "call", "id": 8, "cmd": "no_such_command", "args": {}, "session": None}),
    ("result_int", {"t": "result", "id": 1, "value": 42}),
    ("result_null", {"t": "result", "id": 2, "value": None}),
    ("result_prediction", {"t": "result", "id": 3, "value": {
        "reasoning": "Two plus two is four.", "answer": "4",
        "completions": [{"reasoning": "2+2=4", "answer": "4"}, {"reasoning": "maybe", "answer": "four"}],
    }}),
    ("result_evaluation", {"t": "result", "id": 9, "value": {"score": 66.67, "results": [
        {"example": {"question": "q1", "answer": "a"}, "prediction": {"answer": "a"}, "score": True},
        {"example": {"question": "q2", "answer": "b"}, "prediction": {"answer": "c"}, "score": False},
    ]}}),
    ("error", {"t": "error", "id": 4, "error": {"type": "ValueError", "message": "boom", "traceback": TRACEBACK}}),
    ("error_unknown_command", {"t": "error", "id": 8, "error": {
        "type": "UnknownCommand", "message": "no command named 'no_such_command'", "traceback": ""}}),
    ("error_cancelled", {"t": "error", "id": 10, "error": {
        "type": "Cancelled", "message": "call 10 (block) was cancelled", "traceback": ""}}),
    ("chunk_first", {"t": "chunk", "id": 2, "seq": 0, "value": 0}),
    ("chunk_map", {"t": "chunk", "id": 11, "seq": 7, "value": {"event": "evaluate", "score": 87.5}}),
    ("credit", {"t": "credit", "id": 2, "n": 8}),
    ("cancel", {"t": "cancel", "id": 10}),
    ("ping", {"t": "ping", "seq": 1}),
    ("pong", {"t": "pong", "seq": 1}),
    ("ping_large_seq", {"t": "ping", "seq": 70000}),
    ("callback", {"t": "callback", "id": 1, "session": "s1", "name": "search",
                  "args": {"query": "capital of France", "k": 3}}),
    ("callback_default_session", {"t": "callback", "id": 2, "session": None, "name": "score",
                                  "args": {"example": {"answer": "a"}, "prediction": {"answer": "a"},
                                           "bootstrapping": False, "pred_name": None}}),
    ("callback_result", {"t": "callback_result", "id": 1, "value": ["Paris is the capital of France.", 0.98]}),
    ("callback_error", {"t": "callback_error", "id": 2, "error": {
        "type": "ToolError", "message": "search backend unavailable", "traceback": "Error: unavailable\n    at x"}}),
    ("fatal", {"t": "fatal", "error": {"type": "FrameTooLarge",
                                       "message": "frame of 67108865 bytes exceeds max 67108864", "traceback": ""}}),
]

INVALID: list[dict[str, Any]] = [
    {"name": "truncated_payload", "kind": "Truncated",
     "description": "length prefix says 10 bytes, the stream ends after 3",
     "hex": (struct.pack(">I", 10) + b"\x81\xa1t").hex()},
    {"name": "truncated_header", "kind": "Truncated",
     "description": "the stream ends inside the 4-byte length prefix",
     "hex": b"\x00\x00".hex()},
    {"name": "length_over_max", "kind": "FrameTooLarge", "max_frame_bytes": DEFAULT_MAX_FRAME_BYTES,
     "description": "length prefix one byte over the 64 MiB default; refused before reading the payload",
     "hex": struct.pack(">I", DEFAULT_MAX_FRAME_BYTES + 1).hex()},
    {"name": "length_over_small_max", "kind": "FrameTooLarge", "max_frame_bytes": 128,
     "description": "a valid 219-byte ping payload against a worker started with --max-frame-bytes 128",
     "hex": encode_frame({"t": "ping", "seq": 1, "pad": "x" * 200}).hex()},
    {"name": "garbage_bytes", "kind": "Undecodable",
     "description": "0xc1 is never used in MessagePack",
     "hex": (struct.pack(">I", 3) + b"\xc1\xc1\xc1").hex()},
    {"name": "trailing_data", "kind": "Undecodable",
     "description": "two MessagePack values in one frame",
     "hex": (struct.pack(">I", 2) + b"\x80\x80").hex()},
    {"name": "empty_payload", "kind": "Undecodable",
     "description": "a zero-length frame holds no value",
     "hex": struct.pack(">I", 0).hex()},
    {"name": "invalid_utf8", "kind": "Undecodable",
     "description": "a str whose bytes are not UTF-8",
     "hex": (struct.pack(">I", 3) + b"\xa2\xff\xfe").hex()},
    {"name": "not_a_map", "kind": "BadMessage",
     "description": "the value is the int 1, not a map",
     "hex": (struct.pack(">I", 1) + b"\x01").hex()},
    {"name": "map_without_t", "kind": "BadMessage",
     "description": 'a map with no "t" key',
     "hex": (struct.pack(">I", 1) + b"\x80").hex()},
]


#: Tagged JSON: {"$bigint": "decimal"}, {"$float": "-0"|"NaN"|"Infinity"|"-Infinity"}, {"$date": ms},
#: {"$typed": [JS class, [items]]} (64-bit items as decimal strings), {"$set": [...]}, {"$map": [[k, v], ...]},
#: {"$bytes": "hex"}. Set vectors hold small ints only: Python iterates those in the order JS inserts them.
VALUES: list[tuple[str, Any]] = [
    ("bigint_small", {"$bigint": "5"}),
    ("bigint_negative", {"$bigint": "-129"}),
    ("bigint_2_53", {"$bigint": str(2**53)}),
    ("bigint_huge", {"$bigint": str(-(2**100))}),
    ("float_negative_zero", {"$float": "-0"}),
    ("float_nan", {"$float": "NaN"}),
    ("float_infinity", {"$float": "Infinity"}),
    ("float_negative_infinity", {"$float": "-Infinity"}),
    ("date", {"$date": 1709208000007}),
    ("date_year_1", {"$date": -62135596800000}),
    ("bytes", {"$bytes": "00ff7f"}),
    ("int8array", {"$typed": ["Int8Array", [-1, 2, 127]]}),
    ("uint8clampedarray", {"$typed": ["Uint8ClampedArray", [0, 255]]}),
    ("int16array", {"$typed": ["Int16Array", [-32768, 1]]}),
    ("uint16array", {"$typed": ["Uint16Array", [65535]]}),
    ("int32array", {"$typed": ["Int32Array", [-2147483648, 7]]}),
    ("uint32array", {"$typed": ["Uint32Array", [4294967295]]}),
    ("float32array", {"$typed": ["Float32Array", [1.5, -0.25]]}),
    ("float64array_ext16", {"$typed": ["Float64Array", [i / 4 for i in range(40)]]}),
    ("bigint64array", {"$typed": ["BigInt64Array", ["-5", str(2**63 - 1)]]}),
    ("biguint64array", {"$typed": ["BigUint64Array", [str(2**64 - 1)]]}),
    ("empty_typed_array", {"$typed": ["Float32Array", []]}),
    ("set", {"$set": [1, 2, 3]}),
    ("set_empty", {"$set": []}),
    ("map", {"$map": [[1, "one"], ["1", "string one"], [None, [True]], [{"$bigint": "7"}, {"$float": "-0"}]]}),
    ("map16", {"$map": [[i, i * i] for i in range(17)]}),
    ("nested", {"list": [{"$set": [1]}, {"$map": [["k", {"$date": 0}]]}], "typed": {"$typed": ["Uint16Array", [1, 2]]}}),
]


def revive(value: Any) -> Any:
    """The Python value of tagged JSON (see VALUES)."""
    if isinstance(value, list):
        return [revive(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, body),) = value.items()
        if tag == "$bigint":
            return JsBigInt(int(body))
        if tag == "$float":
            return float(body.replace("Infinity", "inf"))
        if tag == "$date":
            return EPOCH + datetime.timedelta(milliseconds=body)
        if tag == "$bytes":
            return bytes.fromhex(body)
        if tag == "$typed":
            kind, items = body
            return TypedArray(kind, [int(i) if isinstance(i, str) else i for i in items])
        if tag == "$set":
            return {revive(v) for v in body}
        if tag == "$map":
            return JsMap((revive(k), revive(v)) for k, v in body)
    return {k: revive(v) for k, v in value.items()}


def value_frame(value: Any) -> bytes:
    return encode_frame({"t": "result", "id": 1, "value": revive(value)})


def build() -> dict[str, Any]:
    return {
        "description": "DSPex bridge frames: 4-byte big-endian length + one MessagePack map. Checked by the "
        "Python (python/tests/test_vectors.py) and Node test suites. Regenerate with python/tests/gen_vectors.py.",
        "max_frame_bytes": DEFAULT_MAX_FRAME_BYTES,
        "vectors": [{"name": name, "message": message, "hex": encode_frame(message).hex()}
                    for name, message in MESSAGES],
        "values": [{"name": name, "value": value, "hex": value_frame(value).hex()} for name, value in VALUES],
        "invalid": INVALID,
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    VECTORS_PATH.parent.mkdir(parents=True, exist_ok=True)
    VECTORS_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {VECTORS_PATH}")
