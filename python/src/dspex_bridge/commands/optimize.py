"""`optimize`: runs a granted dspy teleprompter (BootstrapFewShot, MIPROv2, GEPA, ...) on a program, built with
the constructor arguments its grant entry lists and compiled with the compile() arguments it lists.

A stream: compile runs on its own thread while this generator forwards progress events as chunks (LM call
counts, evaluation scores, the optimizer's own log lines); the result is the optimized program's handle and
saved state. A cancel discards the result; DSPy has no way to stop a compile midway, so it finishes unseen.
"""

from __future__ import annotations

import inspect
import logging
import queue
import threading
from typing import Any, Generator

from ..context import bind_context, current_call
from ..capabilities import Arguments, qualified_name
from ..errors import BadArguments, Cancelled, NotAllowed
from ..lm import session_lm
from ..registry import command
from .evaluation import resolve_metric, to_examples
from .programs import current_grant, saved_state

_DONE = object()


def _optimizer_path(name: str) -> str:
    """Bare names are dspy.teleprompt classes; dotted paths go through the grant as they are."""
    if not isinstance(name, str) or not name:
        raise BadArguments('"optimizer" must be a class name like "BootstrapFewShot" or a dotted path')
    return name if "." in name else f"dspy.teleprompt.{name}"


def _takes_metric(cls: type, construct: Arguments) -> bool:
    """Whether the optimizer is built with the call's metric: its table entry lists `metric` (an operator's own
    optimizer: its constructor takes one)."""
    if not construct.open:
        return construct.declares("metric")
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return True
    return "metric" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


class _LogForwarder(logging.Handler):
    """Forwards dspy log records emitted by the compile thread (not other calls' threads) as events."""

    def __init__(self, events: queue.SimpleQueue[Any], thread_id: int) -> None:
        super().__init__(logging.INFO)
        self.events = events
        self.thread_id = thread_id

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread_id:
            self.events.put({"event": "log", "level": record.levelname, "message": record.getMessage()})


def _progress_callback(events: queue.SimpleQueue[Any]) -> Any:
    from dspy.utils.callback import BaseCallback

    class Progress(BaseCallback):
        def __init__(self) -> None:
            self.lm_calls = 0
            self.lock = threading.Lock()

        def on_lm_end(self, call_id: str, outputs: Any, exception: BaseException | None = None) -> None:
            with self.lock:
                self.lm_calls += 1
                count = self.lm_calls
            events.put({"event": "lm_calls", "count": count})

        def on_evaluate_end(self, call_id: str, outputs: Any, exception: BaseException | None = None) -> None:
            score = getattr(outputs, "score", outputs)
            if isinstance(score, (int, float)):
                events.put({"event": "evaluate", "score": float(score)})

    return Progress()


def _drain(events: queue.SimpleQueue[Any]) -> list[Any]:
    """One blocking get, then whatever else is queued; bursts of lm_calls collapse to the latest count."""
    batch = [events.get()]
    while True:
        try:
            batch.append(events.get_nowait())
        except queue.Empty:
            break
    merged: list[Any] = []
    for item in batch:
        if isinstance(item, dict) and item.get("event") == "lm_calls" and merged:
            last = merged[-1]
            if isinstance(last, dict) and last.get("event") == "lm_calls":
                merged[-1] = item
                continue
        merged.append(item)
    return merged


@command("optimize", stream=True)
def optimize(
    handle: str,
    optimizer: str,
    trainset: list[dict[str, Any]],
    input_keys: list[str],
    metric: Any = None,
    valset: list[dict[str, Any]] | None = None,
    optimizer_kwargs: dict[str, Any] | None = None,
    compile_kwargs: dict[str, Any] | None = None,
) -> Generator[dict[str, Any], None, dict[str, Any]]:
    import dspy

    ctx = current_call()
    session = ctx.session
    grant = current_grant()
    program = session.get(handle)
    grant.check_callable(program)
    path = _optimizer_path(optimizer)
    cls, entry = grant.resolve(path)
    if entry.compile is None or entry.construct is None:
        raise NotAllowed(f"{path!r} ({qualified_name(cls)}) is not an optimizer this pool grants `optimize`")
    with session_lm(session):  # an {"$lm": spec} argument is built like any other
        _, init_kwargs = grant.bind(cls, entry.construct, session, None, optimizer_kwargs, purpose="construction")
        _, compile_args = grant.bind(cls, entry.compile, session, None, compile_kwargs, purpose="compile")
    metric_fn = resolve_metric(metric, session)
    if metric_fn is not None and _takes_metric(cls, entry.construct):
        init_kwargs.setdefault("metric", metric_fn)
    grant.check_arguments([trainset, valset])
    compile_args["trainset"] = to_examples(trainset, input_keys, "trainset")
    if valset is not None:
        compile_args["valset"] = to_examples(valset, input_keys, "valset")
    with session_lm(session):  # some optimizers (MIPROv2) look for the LM when constructed
        teleprompter = cls(**init_kwargs)

    events: queue.SimpleQueue[Any] = queue.SimpleQueue()
    outcome: dict[str, Any] = {}
    ctx.on_cancel(lambda: events.put(_DONE))

    def compile_program() -> None:
        handler = _LogForwarder(events, threading.get_ident())
        dspy_logger = logging.getLogger("dspy")
        dspy_logger.addHandler(handler)
        try:
            callbacks = [*(dspy.settings.get("callbacks") or []), _progress_callback(events)]
            with session_lm(session), dspy.context(callbacks=callbacks):
                outcome["program"] = teleprompter.compile(program, **compile_args)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the generator's thread
            outcome["error"] = exc
        finally:
            dspy_logger.removeHandler(handler)
            events.put(_DONE)

    yield {"event": "started", "optimizer": cls.__name__, "trainset": len(compile_args["trainset"])}
    worker = threading.Thread(
        target=bind_context(ctx).run, args=(compile_program,), name=f"dspex-optimize-{ctx.id}", daemon=True
    )
    worker.start()
    finished = False
    while not finished:
        for item in _drain(events):
            if item is _DONE:
                finished = True
                break
            yield item
    ctx.check_cancelled()
    if "error" in outcome:
        raise outcome["error"]
    if "program" not in outcome:
        raise Cancelled("optimize ended without a program")
    optimized = outcome["program"]
    state = saved_state(optimized)
    yield {"event": "finished"}
    return {"handle": session.put(optimized), "class": f"{type(optimized).__module__}.{type(optimized).__name__}",
            "state": state}
