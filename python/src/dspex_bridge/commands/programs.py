"""The DSPy object surface: create allow-listed objects, call them, read and write their attributes, save and
load their state. Objects live in the calling session and are addressed by string handles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..context import current_call
from ..errors import BadArguments, NotAllowed
from ..lm import session_lm
from ..registry import command
from ..session import Session
from ..wire import resolve_refs, to_wire


def _session() -> Session:
    return current_call().session


def construct(path: str, args: list[Any] | None, kwargs: dict[str, Any] | None) -> Any:
    """Resolves `path` through the worker's allow-list and calls it with resolved ($handle/$tool/$lm) args."""
    ctx = current_call()
    cls = ctx.worker.allow.resolve_class(path)
    if args is not None and not isinstance(args, list):
        raise BadArguments('"args" must be a list')
    if kwargs is not None and not isinstance(kwargs, dict):
        raise BadArguments('"kwargs" must be a map')
    session = ctx.session
    return cls(*resolve_refs(args or [], session), **resolve_refs(kwargs or {}, session))


def _class_arg(params: dict[str, Any]) -> str:
    path = params.pop("class", None)
    if not isinstance(path, str):
        raise BadArguments('needs "class", a dotted class path such as "dspy.Predict"')
    return path


def _expect_only(name: str, params: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(params) - allowed
    if unknown:
        raise BadArguments(f"{name}: unknown arguments {sorted(unknown)}; allowed: {sorted(allowed)}")


@command("create")
def create(**params: Any) -> dict[str, Any]:
    """{"class": "dspy.ChainOfThought", "args": ["question -> answer"], "kwargs": {...}} -> {"handle", "class"}."""
    _expect_only("create", params, {"class", "args", "kwargs"})
    path = _class_arg(params)
    obj = construct(path, params.get("args"), params.get("kwargs"))
    return {"handle": _session().put(obj), "class": path}


def _walk(obj: Any, dotted: str) -> tuple[Any, str]:
    """The object owning the last segment of `dotted`, and that segment; private segments are refused."""
    if not isinstance(dotted, str) or not dotted:
        raise BadArguments("attribute name must be a non-empty string")
    parts = dotted.split(".")
    if any(not part or part.startswith("_") for part in parts):
        raise NotAllowed(f"attribute {dotted!r} is private or malformed")
    for part in parts[:-1]:
        obj = getattr(obj, part)
    return obj, parts[-1]


@command("call")
def call(handle: str, kwargs: dict[str, Any] | None = None, args: list[Any] | None = None) -> Any:
    """Calls the object (a dspy.Module, usually) and returns its Prediction as {field: value, ...}
    (+ "completions" when it has several)."""
    session = _session()
    target = session.get(handle)
    with session_lm(session):
        result = target(*resolve_refs(args or [], session), **resolve_refs(kwargs or {}, session))
    return to_wire(result, session)


@command("get_attr")
def get_attr(handle: str, name: str) -> Any:
    """A plain value, or {"$handle", "class"} for an object with no plain form (kept in the session)."""
    session = _session()
    owner, attr = _walk(session.get(handle), name)
    return to_wire(getattr(owner, attr), session)


@command("set_attr")
def set_attr(handle: str, name: str, value: Any) -> bool:
    session = _session()
    owner, attr = _walk(session.get(handle), name)
    setattr(owner, attr, resolve_refs(value, session))
    return True


@command("delete")
def delete(handle: str) -> bool:
    """True when the handle existed."""
    return _session().delete(handle)


def saved_state(program: Any) -> dict[str, Any]:
    """What DSPy's `program.save("x.json")` writes: dump_state() plus metadata.dependency_versions."""
    from dspy.utils.saving import get_dependency_versions

    state = program.dump_state()
    state["metadata"] = {"dependency_versions": get_dependency_versions()}
    wire_state: dict[str, Any] = to_wire(state)
    return wire_state


def _json_path(path: str) -> Path:
    resolved = Path(path)
    if resolved.suffix != ".json":
        raise NotAllowed(f"only .json state files are supported (pickle runs code on load): {path!r}")
    return resolved


@command("save")
def save(handle: str, path: str | None = None) -> dict[str, Any]:
    """Returns the program's DSPy JSON state; also writes it to `path` (a .json file) when given."""
    program = _session().get(handle)
    if path is not None:
        program.save(str(_json_path(path)))
    return saved_state(program)


@command("load")
def load(**params: Any) -> dict[str, Any]:
    """{"class", "args"?, "kwargs"?, "state": {...} | "path": "x.json"} -> {"handle", "class"}."""
    _expect_only("load", params, {"class", "args", "kwargs", "state", "path"})
    path = _class_arg(params)
    state, file = params.get("state"), params.get("path")
    if (state is None) == (file is None):
        raise BadArguments('load needs exactly one of "state" (a map) or "path" (a .json file)')
    program = construct(path, params.get("args"), params.get("kwargs"))
    if file is not None:
        program.load(str(_json_path(file)))
    elif isinstance(state, dict):
        program.load_state(state)
    else:
        raise BadArguments('"state" must be a map')
    return {"handle": _session().put(program), "class": path}

