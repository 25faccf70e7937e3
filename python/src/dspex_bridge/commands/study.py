"""`study_create`, `study_ask`, `study_tell`: an Optuna study (TPE) driven from Node by ask and tell.

Node owns the search loop (optimize() in @dspex/orchestration runs the trials); Python only proposes and learns.
The study lives in the calling session as an `OptunaStudy` handle, which the grant lets Node hold and nothing
else: no `create`, no `call`, no attributes. Every argument is checked here by name and type (default-deny, as in
capabilities/): directions, the distributions, the sampler's options, constraint names, replayed trials.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from ..context import current_call
from ..errors import BadArguments
from ..registry import command

_DIRECTIONS = ("maximize", "minimize")
_STATES = ("complete", "fail", "pruned")
#: TPESampler's options Node may set, each with the Python types its value may have.
_TPE_OPTIONS: dict[str, tuple[type, ...]] = {
    "seed": (int, type(None)),
    "n_startup_trials": (int,),
    "n_ei_candidates": (int,),
    "multivariate": (bool,),
    "group": (bool,),
    "constant_liar": (bool,),
    "warn_independent_sampling": (bool,),
}
_DISTRIBUTION_KEYS = {
    "float": {"type", "low", "high", "step", "log"},
    "int": {"type", "low", "high", "step", "log"},
    "categorical": {"type", "choices"},
}
_CATEGORY_TYPES = (str, int, float, bool, type(None))


class OptunaStudy:
    """A study held for Node: the optuna Study, the distributions every ask samples from, the constraint names
    each trial carries a value for, and the trials asked and not yet told (by number)."""

    def __init__(self, study: Any, distributions: dict[str, Any], constraints: list[str]) -> None:
        self.study = study
        self.distributions = distributions
        self.constraints = constraints
        self.running: dict[int, Any] = {}
        #: ask and tell of one study run one at a time (sync commands run on a thread pool).
        self.lock = threading.Lock()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _distribution(name: str, spec: Any) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if not isinstance(spec, dict) or spec.get("type") not in _DISTRIBUTION_KEYS:
        raise BadArguments(f"distribution {name!r}: a map with type 'float', 'int' or 'categorical'")
    kind = spec["type"]
    unknown = set(spec) - _DISTRIBUTION_KEYS[kind]
    if unknown:
        raise BadArguments(f"distribution {name!r}: unknown keys {sorted(unknown)}; a {kind} takes "
                           f"{sorted(_DISTRIBUTION_KEYS[kind])}")
    try:
        if kind == "categorical":
            choices = spec.get("choices")
            if not isinstance(choices, list) or not choices or not all(isinstance(c, _CATEGORY_TYPES) for c in choices):
                raise BadArguments(f"distribution {name!r}: choices must be a non-empty list of str, number, "
                                   "bool or null")
            return CategoricalDistribution(choices)
        low, high, step, log = spec.get("low"), spec.get("high"), spec.get("step"), bool(spec.get("log", False))
        if not (_is_number(low) and _is_number(high)) or (step is not None and not _is_number(step)):
            raise BadArguments(f"distribution {name!r}: low, high (and step) must be finite numbers")
        if kind == "int":
            if not all(isinstance(v, int) for v in (low, high)) or (step is not None and not isinstance(step, int)):
                raise BadArguments(f"distribution {name!r}: an int distribution takes integer low, high and step")
            return IntDistribution(low, high, log=log, step=1 if step is None else step)
        return FloatDistribution(float(low), float(high), log=log, step=None if step is None else float(step))
    except ValueError as exc:  # Optuna's own checks: low > high, log with a step, log of a non-positive low
        raise BadArguments(f"distribution {name!r}: {exc}") from None


def _sampler(spec: Any) -> Any:
    import optuna

    spec = {} if spec is None else spec
    if not isinstance(spec, dict):
        raise BadArguments("sampler: a map of TPESampler options")
    options = dict(spec)
    if options.pop("name", "tpe") != "tpe":
        raise BadArguments("sampler: only 'tpe' (optuna.samplers.TPESampler) is granted")
    for key, value in options.items():
        types = _TPE_OPTIONS.get(key)
        if types is None:
            raise BadArguments(f"sampler: unknown TPESampler option {key!r}; granted: {sorted(_TPE_OPTIONS)}")
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise BadArguments(f"sampler option {key!r}: {type(value).__name__} is not a valid value")
    try:
        return optuna.samplers.TPESampler(**options)
    except ValueError as exc:  # group without multivariate, and the like
        raise BadArguments(f"sampler: {exc}") from None


def _values(values: Any, study: OptunaStudy, state: str) -> list[float] | None:
    if state != "complete":
        if values is not None:
            raise BadArguments(f"a {state} trial is told without values")
        return None
    expected = len(study.study.directions)
    if not isinstance(values, list) or len(values) != expected or not all(_is_number(v) for v in values):
        raise BadArguments(f"a complete trial is told with {expected} finite number(s), one per direction, "
                           f"not {values!r}")
    return [float(v) for v in values]


def _constraints(values: Any, study: OptunaStudy) -> dict[str, float]:
    if values is None:
        return {}
    if not isinstance(values, dict) or set(values) != set(study.constraints) or not all(
            _is_number(v) for v in values.values()):
        raise BadArguments(f"constraints: a map with a finite number for each of {study.constraints} "
                           "(<= 0 satisfied, > 0 violated)")
    return {name: float(value) for name, value in values.items()}


def _state(state: Any) -> Any:
    from optuna.trial import TrialState

    if state not in _STATES:
        raise BadArguments(f"state must be one of {list(_STATES)}, not {state!r}")
    return {"complete": TrialState.COMPLETE, "fail": TrialState.FAIL, "pruned": TrialState.PRUNED}[state]


def _params(params: Any, study: OptunaStudy) -> dict[str, Any]:
    if not isinstance(params, dict) or set(params) != set(study.distributions):
        raise BadArguments(f"params: a map with a value for each of {sorted(study.distributions)}")
    return params


def _add_finished(study: OptunaStudy, params: Any, state: str, values: Any, constraints: Any) -> int:
    """Adds a trial that was evaluated elsewhere (a replayed trial of a study lost with its worker)."""
    import optuna

    checked = _params(params, study)
    try:
        trial = optuna.trial.create_trial(
            state=_state(state), values=_values(values, study, state), params=checked,
            distributions=dict(study.distributions), constraints=_constraints(constraints, study),
        )
        study.study.add_trial(trial)
    except ValueError as exc:  # a value outside its distribution
        raise BadArguments(f"trial: {exc}") from None
    return len(study.study.trials) - 1


@command("study_create")
def study_create(
    directions: list[str],
    distributions: dict[str, Any],
    sampler: dict[str, Any] | None = None,
    constraints: list[str] | None = None,
    trials: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Creates an in-memory Optuna study with a TPESampler: `directions` ("maximize" | "minimize" per objective),
    `distributions` ({name: {type: float|int, low, high, step?, log?} | {type: categorical, choices}}), `sampler`
    (TPESampler options), `constraints` (names; each told trial carries a value per name, > 0 violated) and
    `trials` to replay ({params, state, values?, constraints?}). Returns {"handle", "trials": replayed count}."""
    import optuna

    if not isinstance(directions, list) or not directions or not all(d in _DIRECTIONS for d in directions):
        raise BadArguments(f"directions: a non-empty list of {list(_DIRECTIONS)}")
    if not isinstance(distributions, dict) or not distributions:
        raise BadArguments("distributions: a non-empty map of parameter name -> distribution")
    names = constraints or []
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise BadArguments("constraints: a list of distinct constraint names")
    built = {str(name): _distribution(str(name), spec) for name, spec in distributions.items()}
    # Optuna logs every finished trial at INFO on stderr (a Node log line each): keep its warnings only.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = OptunaStudy(optuna.create_study(directions=directions, sampler=_sampler(sampler)), built, names)
    for trial in trials or []:
        if not isinstance(trial, dict) or set(trial) - {"params", "state", "values", "constraints"}:
            raise BadArguments("trials: each a map of params, state, values?, constraints?")
        _add_finished(study, trial.get("params"), trial.get("state", "complete"), trial.get("values"),
                      trial.get("constraints"))
    return {"handle": current_call().session.put(study), "trials": len(study.study.trials)}


def _study(handle: str) -> OptunaStudy:
    study = current_call().session.get(handle)
    if not isinstance(study, OptunaStudy):
        raise BadArguments(f"handle {handle!r} is not an Optuna study (make one with study_create)")
    return study


@command("study_ask")
def study_ask(handle: str) -> dict[str, Any]:
    """A new trial of the study: {"number", "params"} sampled from the study's distributions."""
    study = _study(handle)
    with study.lock:
        trial = study.study.ask(fixed_distributions=study.distributions)
        study.running[trial.number] = trial
    return {"number": trial.number, "params": trial.params}


@command("study_tell")
def study_tell(
    handle: str,
    state: str,
    number: int | None = None,
    params: dict[str, Any] | None = None,
    values: list[float] | None = None,
    constraints: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Finishes trial `number` (asked by study_ask) as complete (with `values`, one per direction), fail or pruned,
    with its constraint values; without `number`, adds a finished trial with `params` instead (one asked from a
    study that was lost). Returns {"number", "state"}."""
    study = _study(handle)
    if number is None:
        with study.lock:
            return {"number": _add_finished(study, params, state, values, constraints), "state": state}
    told_state, told_values = _state(state), _values(values, study, state)
    told_constraints = _constraints(constraints, study)
    with study.lock:
        trial = study.running.pop(number, None)
        if trial is None:
            raise BadArguments(f"trial {number!r} is not running in this study (told twice, or never asked)")
        for name, value in told_constraints.items():
            trial.set_constraint(name, value)
        study.study.tell(trial, values=told_values, state=told_state)
    return {"number": number, "state": state}
