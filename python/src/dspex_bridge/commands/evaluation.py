"""`evaluate`, and the metrics shared with `optimize`: named builtins, or a Node tool called per example."""

from __future__ import annotations

from typing import Any, Callable

from ..capabilities import Grant
from ..context import CallContext, current_call, current_call_or_none
from ..errors import BadArguments
from ..lm import session_lm
from ..registry import command
from ..session import Session
from ..wire import to_wire


def exact_match(example: Any, pred: Any, trace: Any = None, *_: Any, **__: Any) -> bool:
    """Every label of the example (its non-input fields) equals the prediction's, after DSPy's normalize_text."""
    from dspy.evaluate.metrics import normalize_text

    labels = example.labels()
    keys = list(labels.keys())
    if not keys:
        return False
    return all(normalize_text(str(pred.get(k, ""))) == normalize_text(str(labels[k])) for k in keys)


def _answer_exact_match(example: Any, pred: Any, trace: Any = None, *_: Any, **__: Any) -> bool:
    from dspy.evaluate import answer_exact_match

    return bool(answer_exact_match(example, pred, trace))


def _answer_passage_match(example: Any, pred: Any, trace: Any = None, *_: Any, **__: Any) -> bool:
    from dspy.evaluate import answer_passage_match

    return bool(answer_passage_match(example, pred, trace))


BUILTIN_METRICS: dict[str, Callable[..., Any]] = {
    "exact_match": exact_match,
    "answer_exact_match": _answer_exact_match,
    "answer_passage_match": _answer_passage_match,
}


def node_metric(session: Session, name: str, ctx: CallContext | None) -> Callable[..., Any]:
    """A metric that asks the Node tool `name` with {"example", "prediction", "bootstrapping", "pred_name"};
    Node answers a number/bool, or {"score", "feedback"} (GEPA)."""

    def metric(example: Any, pred: Any, trace: Any = None, pred_name: Any = None, pred_trace: Any = None) -> Any:
        value = session.call_tool(
            name,
            {
                "example": to_wire(example),
                "prediction": to_wire(pred),
                "bootstrapping": trace is not None,
                "pred_name": pred_name if isinstance(pred_name, str) else None,
            },
            ctx=ctx,
        )
        if isinstance(value, dict) and "score" in value:
            import dspy

            return dspy.Prediction(score=value["score"], feedback=value.get("feedback", ""))
        return value

    metric.__name__ = name
    return metric


def resolve_metric(spec: Any, session: Session) -> Callable[..., Any] | None:
    """None; a builtin name; {"callback": name}; or the name of a tool this session registered."""
    if spec is None:
        return None
    ctx = current_call_or_none()
    if isinstance(spec, dict) and isinstance(spec.get("callback"), str):
        return node_metric(session, spec["callback"], ctx)
    if isinstance(spec, str):
        if spec in BUILTIN_METRICS:
            return BUILTIN_METRICS[spec]
        if spec in session.tools:
            return node_metric(session, spec, ctx)
    raise BadArguments(
        f"unknown metric {spec!r}: use one of {sorted(BUILTIN_METRICS)}, {{'callback': name}}, "
        "or the name of a tool registered with register_tools"
    )


def to_examples(rows: Any, input_keys: Any, what: str) -> list[Any]:
    import dspy

    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise BadArguments(f"{what} must be a list of maps")
    if not isinstance(input_keys, list) or not input_keys or not all(isinstance(k, str) for k in input_keys):
        raise BadArguments('"input_keys" must be a non-empty list of field names')
    return [dspy.Example(**row).with_inputs(*input_keys) for row in rows]


@command("evaluate")
def evaluate(
    handle: str,
    devset: list[dict[str, Any]],
    input_keys: list[str],
    metric: Any,
    num_threads: int = 1,
    max_errors: int | None = None,
    failure_score: float = 0.0,
) -> dict[str, Any]:
    """dspy.Evaluate -> {"score": percent, "results": [{"example", "prediction", "score"}]}."""
    import dspy

    ctx = current_call()
    session = ctx.session
    program = session.get(handle)
    grant = Grant.of(ctx.worker.allow)
    grant.check_callable(program)
    grant.check_arguments(devset)  # an example's fields reach the program as call arguments
    metric_fn = resolve_metric(metric, session)
    if metric_fn is None:
        raise BadArguments("evaluate needs a metric")
    examples = to_examples(devset, input_keys, "devset")
    evaluator = dspy.Evaluate(
        devset=examples,
        metric=metric_fn,
        num_threads=num_threads,
        display_progress=False,
        max_errors=max_errors,
        failure_score=failure_score,
    )
    with session_lm(session):
        outcome = evaluator(program)
    return {
        "score": float(outcome.score),
        "results": [
            {"example": to_wire(example), "prediction": to_wire(prediction), "score": to_wire(score)}
            for example, prediction, score in outcome.results
        ],
    }
