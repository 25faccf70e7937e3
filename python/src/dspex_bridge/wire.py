"""Turning Python values into wire values (MessagePack-able maps, lists and scalars) and back.

DSPy objects become plain dicts (a Prediction is the dict of its fields plus "completions" when there are
several); an object with no plain form is kept in the session and travels as {"$handle": ..., "class": ...}.
Going the other way, {"$handle": h} in arguments means that object, {"$tool": name} a Node tool.
How each value travels (BigInt, Map, Set, Date, typed arrays) is in values.py and the bridge README's table.
"""

from __future__ import annotations

import array
import dataclasses
import datetime
import enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import msgpack

from .errors import Unserializable
from .framing import plain
from .values import JsBigInt, JsMap

if TYPE_CHECKING:
    from .session import Session


def class_path(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def is_example(value: Any) -> bool:
    return hasattr(value, "toDict") and type(value).__module__.startswith("dspy.")


def prediction_to_wire(pred: Any, session: Session | None = None) -> dict[str, Any]:
    """A dspy.Prediction as {field: value, ...}, plus "completions": [{field: value}, ...] when there are several."""
    out = {str(k): to_wire(v, session) for k, v in pred.items()}
    completions = getattr(pred, "_completions", None)
    if completions is not None and len(completions) > 1:
        items = list(completions.items())
        out["completions"] = [
            {str(k): to_wire(values[i], session) for k, values in items} for i in range(len(completions))
        ]
    return out


#: Values the packer writes by the value table (values.py); to_wire leaves them as they are.
VALUE_TYPES = (JsBigInt, JsMap, set, frozenset, datetime.datetime, array.array, msgpack.ExtType)


def to_wire(value: Any, session: Session | None = None) -> Any:
    """A wire form of `value`; with a session, unknown objects become handles, without one Unserializable.
    Builtin values keep their type (a subclass becomes its base: a tuple a list, an IntEnum its value);
    dict keys stay as they are (a dict with a key that is not a str reaches Node as a Map)."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str, bytes):
        return value
    if isinstance(value, VALUE_TYPES):
        return value
    if isinstance(value, dict) and not is_example(value):
        return {k: to_wire(v, session) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v, session) for v in value]
    if is_example(value):
        if hasattr(value, "_completions"):  # a dspy.Prediction
            return prediction_to_wire(value, session)
        return to_wire(value.toDict(), session)
    if hasattr(value, "model_dump") and callable(value.model_dump):
        return to_wire(value.model_dump(mode="json"), session)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_wire(dataclasses.asdict(value), session)
    if isinstance(value, enum.Enum):
        return to_wire(value.value, session)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (bool, int, float, str, bytes)):
        return plain(value)  # a subclass of a builtin (after Enum, whose members may be ints or strs)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if session is not None:
        return {"$handle": session.put(value), "class": class_path(value)}
    raise Unserializable(f"cannot send a {class_path(value)} over the bridge")


def encode_default(value: Any) -> Any:
    """msgpack `default` hook for results of user commands: anything to_wire can flatten without a session."""
    return to_wire(value)


def resolve_refs(value: Any, session: Session, *, tools_as_dspy: bool = True) -> Any:
    """Replaces {"$handle": h} with the session's object and {"$tool": name} with a Node tool (a dspy.Tool
    carrying Node's JSON schema when `tools_as_dspy`, else the plain proxy function), recursively."""
    if isinstance(value, list):
        return [resolve_refs(v, session, tools_as_dspy=tools_as_dspy) for v in value]
    if not isinstance(value, dict):
        return value
    if "$handle" in value and set(value) <= {"$handle", "class"}:
        return session.get(value["$handle"])
    if set(value) == {"$tool"}:
        return node_tool(session, str(value["$tool"]), as_dspy=tools_as_dspy)
    if set(value) == {"$lm"}:
        from .lm import build_lm

        return build_lm(value["$lm"])
    return {k: resolve_refs(v, session, tools_as_dspy=tools_as_dspy) for k, v in value.items()}


def node_tool(session: Session, name: str, *, as_dspy: bool) -> Any:
    fn = session.tool(name)
    if not as_dspy:
        return fn
    import dspy

    spec = session.tools.get(name)
    if spec is not None and spec.properties:
        return dspy.Tool(fn, name=name, desc=fn.__doc__, args=spec.properties)
    return dspy.Tool(fn, name=name, desc=fn.__doc__)
