"""The DSPy object surface: create granted objects, call them, read and write their exposed attributes, save
and load their state. Objects live in the calling session and are addressed by string handles; what Node may
reach through them is exactly what the pool's Grant allows (see capabilities/)."""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from typing import Any, Generator

import orjson

from ..capabilities import Grant, qualified_name, read_attribute, write_attribute
from ..context import bind_context, current_call
from ..errors import BadArguments, Cancelled, NotAllowed
from ..lm import session_lm
from ..registry import command
from ..session import Session
from ..wire import to_wire


def _session() -> Session:
    return current_call().session


def current_grant() -> Grant:
    """The grant of the worker running the current call."""
    return Grant.of(current_call().worker.allow)


def construct(path: str, args: list[Any] | None, kwargs: dict[str, Any] | None) -> Any:
    """Builds the class `path` names, if the grant's table lets `create` build it, with its granted arguments
    (each converted by its kind: signatures checked, $handle/$tool/$lm resolved, paths put in the save dir)."""
    grant = current_grant()
    cls, entry = grant.resolve(path)
    if entry.construct is None or entry.compile is not None:
        raise NotAllowed(f"{path!r} ({qualified_name(cls)}) is granted, but not to be built by `create`/`load`"
                         " (an LM comes from an LM spec, a tool from {'$tool': name}, an optimizer from `optimize`)")
    call_args, call_kwargs = grant.bind(cls, entry.construct, current_call().session, args, kwargs,
                                        purpose="construction")
    return cls(*call_args, **call_kwargs)


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


@command("call")
def call(handle: str, kwargs: dict[str, Any] | None = None, args: list[Any] | None = None) -> Any:
    """Calls a DSPy module and returns its Prediction as {field: value, ...} (+ "completions" when it has
    several). Only what the grant's table lets `call` run, with the arguments it grants (a module's input
    fields, and Predict's config/lm/signature/demos overrides)."""
    session = _session()
    grant = current_grant()
    target = session.get(handle)
    arguments = grant.call_arguments(target)
    call_args, call_kwargs = grant.bind(type(target), arguments, session, args, kwargs, purpose="call")
    with session_lm(session):
        result = target(*call_args, **call_kwargs)
    return to_wire(result, session)


@command("get_attr")
def get_attr(handle: str, name: str) -> Any:
    """An exposed attribute as plain data, or {"$handle", "class"} for a granted object (kept in the session)."""
    session = _session()
    return to_wire(read_attribute(session.get(handle), name), session)


@command("set_attr")
def set_attr(handle: str, name: str, value: Any) -> bool:
    session = _session()
    grant = current_grant()
    write_attribute(grant, session, session.get(handle), name, value)
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


def _state_file(grant: Grant, path: Any) -> Path:
    """`path` inside the pool's save directory, as a .json file (or .pkl when the pool enables pickle)."""
    location = grant.location(path, what="state file")
    if location.suffix == ".pkl" and grant.allow_pickle:
        return location
    if location.suffix != ".json":
        raise NotAllowed(f"state file {path!r}: only .json state files are supported (pickle runs code on load; "
                         "only the pool's configuration can enable it)")
    return location


_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)


@command("save")
def save(handle: str, path: str | None = None) -> dict[str, Any]:
    """Returns the program's DSPy JSON state; also writes it to `path` (a .json file in the save directory)."""
    program = _session().get(handle)
    current_grant().check_callable(program)  # only granted DSPy modules have state
    state = saved_state(program)
    if path is not None:
        location = _state_file(current_grant(), path)
        location.parent.mkdir(parents=True, exist_ok=True)
        if location.suffix == ".pkl":
            program.save(str(location))
        else:  # the bytes DSPy's own save writes, through a descriptor that will not follow a planted symlink
            fd = os.open(location, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NO_FOLLOW, 0o644)
            with os.fdopen(fd, "wb") as out:
                out.write(orjson.dumps(state, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
    return state


def _read_state(location: Path) -> Any:
    try:
        fd = os.open(location, os.O_RDONLY | _NO_FOLLOW)
    except FileNotFoundError:
        raise BadArguments(f"no state file at {location}") from None
    with os.fdopen(fd, "rb") as source:
        return orjson.loads(source.read())


def _check_state(grant: Grant, state: dict[str, Any]) -> None:
    """DSPy's load_state setattr()s every key of a predictor's state: private and dunder keys are refused, and
    signatures inside the map reach DSPy like any other argument."""
    for name, entry in state.items():
        keys = [name, *(entry if isinstance(entry, dict) else ())]
        for key in keys:
            if not isinstance(key, str) or key.startswith("_"):
                raise NotAllowed(f"state key {key!r} is private; a saved state names only public fields")
    grant.check_arguments(state)


@command("load")
def load(**params: Any) -> dict[str, Any]:
    """{"class", "args"?, "kwargs"?, "state": {...} | "path": "x.json"} -> {"handle", "class"}."""
    _expect_only("load", params, {"class", "args", "kwargs", "state", "path"})
    path = _class_arg(params)
    state, file = params.get("state"), params.get("path")
    if (state is None) == (file is None):
        raise BadArguments('load needs exactly one of "state" (a map) or "path" (a .json file)')
    grant = current_grant()
    location = _state_file(grant, file) if file is not None else None
    program = construct(path, params.get("args"), params.get("kwargs"))
    grant.check_callable(program)
    if location is not None and location.suffix == ".pkl":
        program.load(str(location), allow_pickle=True)
    elif location is not None:
        state = _read_state(location)
    if isinstance(state, dict):
        _check_state(grant, state)
        program.load_state(state)
    elif location is None or location.suffix != ".pkl":
        raise BadArguments('"state" must be a map')
    return {"handle": _session().put(program), "class": path}


_STREAM_DONE = object()


def _stream_listeners(program: Any) -> tuple[list[Any], dict[str, str]]:
    """A StreamListener on every output field of every predictor (reusable: a ReAct calls its predictors in a
    loop), and for each output field the last predictor that writes it (who a whole-field delta is from)."""
    from dspy.streaming import StreamListener

    listeners: list[Any] = []
    writer: dict[str, str] = {}
    for path, predictor in program.named_predictors():
        for field in predictor.signature.output_fields:
            listeners.append(StreamListener(signature_field_name=field, predict=predictor, predict_name=path,
                                            allow_reuse=True))
            writer[field] = path
    return listeners, writer


def _field_text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(to_wire(value)).decode()


@command("call_stream", stream=True)
def call_stream(handle: str, kwargs: dict[str, Any] | None = None,
                args: list[Any] | None = None) -> Generator[dict[str, Any], None, Any]:
    """`call` as a stream (DSPy's streamify): chunks {"type": "field", "field", "delta", "predictor"} as the LM
    writes each output field, {"type": "status", "kind", "message"} around tool calls, and the Prediction as
    `call` returns it for the result. A field that streamed nothing (a cache hit, an LM that does not stream)
    comes as one delta before the result. Granted exactly as `call` is."""
    import dspy
    from dspy.streaming import StatusMessage, StatusMessageProvider, StreamResponse, streamify

    ctx = current_call()
    session = ctx.session
    grant = current_grant()
    target = session.get(handle)
    arguments = grant.call_arguments(target)
    call_args, call_kwargs = grant.bind(type(target), arguments, session, args, kwargs, purpose="call")
    listeners, writer = _stream_listeners(target)
    tool_end = StatusMessageProvider().tool_end_status_message(None)
    events: queue.SimpleQueue[Any] = queue.SimpleQueue()
    outcome: dict[str, Any] = {}
    ctx.on_cancel(lambda: events.put(_STREAM_DONE))

    def run() -> None:
        try:
            with session_lm(session):
                program = streamify(target, stream_listeners=listeners, async_streaming=False)
                for item in program(*call_args, **call_kwargs):
                    if isinstance(item, StreamResponse):
                        events.put({"type": "field", "field": item.signature_field_name, "delta": item.chunk,
                                    "predictor": item.predict_name})
                    elif isinstance(item, StatusMessage):
                        kind = "tool_end" if item.message == tool_end else "tool_start"
                        events.put({"type": "status", "kind": kind, "message": item.message})
                    elif isinstance(item, dspy.Prediction):
                        outcome["prediction"] = item
        except BaseException as exc:  # noqa: BLE001 - re-raised on the generator's thread
            outcome["error"] = exc
        finally:
            events.put(_STREAM_DONE)

    # streamify's sync generator runs DSPy on its own event-loop thread; this thread only forwards its items.
    threading.Thread(target=bind_context(ctx).run, args=(run,), name=f"dspex-call-stream-{ctx.id}",
                     daemon=True).start()
    streamed: set[str] = set()
    while True:
        item = events.get()
        if item is _STREAM_DONE:
            break
        if item["type"] == "field":
            if not item["delta"]:
                continue
            streamed.add(item["field"])
        yield item
    ctx.check_cancelled()
    if "error" in outcome:
        raise outcome["error"]
    prediction = outcome.get("prediction")
    if prediction is None:
        raise Cancelled("call_stream ended without a prediction")
    for field, value in prediction.items():
        if field in writer and field not in streamed and value is not None and _field_text(value):
            yield {"type": "field", "field": field, "delta": _field_text(value), "predictor": writer[field]}
    return to_wire(prediction, session)
