"""The default grant: every DSPy class Node may reach, by the qualified name of where it really lives, and for
each what Node may do with it. A class that is not in this table is not granted (default-deny); the pool's
operator adds classes with `--allow` / `python.allow` and `--grant` / `python.grant` (see grant.py).

Left out on purpose: modules that run code (ProgramOfThought, CodeAct: PythonInterpreter starts Deno), clients
that start processes, cache or fine-tune (lm_local, provider, BootstrapFinetune, BetterTogether, GRPO),
settings, MCP/LangChain bridges, KNNFewShot and KNN (an Embedder from Node would be an LM with no spec table),
Ensemble (its compile takes a list of programs, which `optimize` does not pass), Parallel (Node runs calls in
parallel itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .kinds import (
    DATA, EXAMPLES, LM, LM_OPTIONS, LM_REQUEST_OPTIONS, METRIC, MODULE, PATH, SIGNATURE, TOOLS, VALUE, Arguments,
    Kind, map_of,
)


@dataclass(frozen=True)
class ClassGrant:
    """What Node may do with one class. `construct`: `create`/`load` (and `optimize`, for an optimizer) may build
    it with these arguments; `call`: `call` may run it with these; `compile`: an optimizer `optimize` may run,
    with these compile() arguments besides trainset/valset; `propose`: an instruction proposer
    `propose_instructions` may build, with these arguments besides the ones it supplies; `hold`: Node may keep a
    handle to an instance; `annotation`: a signature may name it as a field type."""

    construct: Arguments | None = None
    call: Arguments | None = None
    compile: Arguments | None = None
    propose: Arguments | None = None
    hold: bool = True
    annotation: bool = False


def _data(*names: str) -> dict[str, Kind]:
    return dict.fromkeys(names, DATA)


#: A DSPy module's call: its input fields by any name (data or references), and Predict's per-call overrides.
MODULE_CALL = Arguments(named={"config": LM_OPTIONS, "lm": LM, "signature": SIGNATURE, "demos": DATA}, rest=VALUE)
#: What Predict-like modules pass to the LM on every call (their `**config`).
_LM_CONFIG = _data(*LM_REQUEST_OPTIONS)
#: Evaluate's options where an optimizer passes them on (COPRO's eval_kwargs).
_EVALUATE_OPTIONS = _data("num_threads", "display_progress", "display_table", "max_errors", "provide_traceback",
                          "failure_score")
#: dspy.settings a teacher runs under (teacher_settings): only its LM.
TEACHER_SETTINGS = map_of("teacher_settings", "only 'lm', the teacher's LM", Arguments(named={"lm": LM}))
EVAL_KWARGS = map_of("eval_kwargs", "Evaluate options: num_threads, display_progress, ...",
                     Arguments(named=_EVALUATE_OPTIONS))

_BOOTSTRAP = {
    "metric": METRIC, "metric_threshold": DATA, "teacher_settings": TEACHER_SETTINGS,
    **_data("max_bootstrapped_demos", "max_labeled_demos", "max_rounds", "max_errors"),
}
_TEACHER = Arguments(named={"teacher": MODULE})
_REWARD_MODULE = Arguments(
    named={"module": MODULE, "N": DATA, "reward_fn": METRIC, "threshold": DATA, "fail_count": DATA},
    positional=("module", "N", "reward_fn", "threshold", "fail_count"),
)


def _module(arguments: Arguments) -> ClassGrant:
    return ClassGrant(construct=arguments, call=MODULE_CALL)


def _optimizer(construct: Mapping[str, Kind], compile: Mapping[str, Kind]) -> ClassGrant:
    return ClassGrant(construct=Arguments(named=construct), compile=Arguments(named=compile), hold=False)


_ADAPTER = ClassGrant(construct=Arguments(named=_data("use_native_function_calling", "use_json_adapter_fallback",
                                                      "parallel_tool_calls")))

DEFAULT_TABLE: dict[str, ClassGrant] = {
    # Modules: built by `create`/`load`, run by `call`, their named parameters walked by get_attr/set_attr.
    "dspy.predict.predict.Predict": _module(Arguments(named={"signature": SIGNATURE, **_LM_CONFIG},
                                                      positional=("signature",))),
    "dspy.predict.chain_of_thought.ChainOfThought": _module(Arguments(named={"signature": SIGNATURE, **_LM_CONFIG},
                                                                      positional=("signature",))),
    "dspy.predict.react.ReAct": _module(Arguments(named={"signature": SIGNATURE, "tools": TOOLS, "max_iters": DATA},
                                                  positional=("signature", "tools", "max_iters"))),
    "dspy.predict.multi_chain_comparison.MultiChainComparison": _module(Arguments(
        named={"signature": SIGNATURE, "M": DATA, **_LM_CONFIG}, positional=("signature", "M", "temperature"))),
    "dspy.predict.best_of_n.BestOfN": _module(_REWARD_MODULE),
    "dspy.predict.refine.Refine": _module(_REWARD_MODULE),
    # Primitives: examples as handles; tools come from {"$tool": name}; LMs from the LM spec ({"$lm"},
    # configure_lm), never from `create`, so the spec's table is the only way in.
    "dspy.primitives.example.Example": ClassGrant(construct=Arguments(rest=DATA)),
    "dspy.primitives.prediction.Prediction": ClassGrant(construct=Arguments(rest=DATA)),
    "dspy.adapters.types.tool.Tool": ClassGrant(),
    "dspy.clients.lm.LM": ClassGrant(),
    "dspy.utils.dummies.DummyLM": ClassGrant(),
    # Adapters (callbacks and native_response_types are not granted).
    "dspy.adapters.chat_adapter.ChatAdapter": _ADAPTER,
    "dspy.adapters.json_adapter.JSONAdapter": ClassGrant(construct=Arguments(
        named=_data("use_native_function_calling", "parallel_tool_calls"))),
    "dspy.adapters.xml_adapter.XMLAdapter": _ADAPTER,
    "dspy.adapters.two_step_adapter.TwoStepAdapter": ClassGrant(construct=Arguments(
        named={"extraction_model": LM}, positional=("extraction_model",))),
    # Field types a signature may name (`image: dspy.Image -> caption`); values, never handles.
    "dspy.adapters.types.image.Image": ClassGrant(hold=False, annotation=True),
    "dspy.adapters.types.audio.Audio": ClassGrant(hold=False, annotation=True),
    "dspy.adapters.types.file.File": ClassGrant(hold=False, annotation=True),
    "dspy.adapters.types.history.History": ClassGrant(hold=False, annotation=True),
    "dspy.adapters.types.code.Code": ClassGrant(hold=False, annotation=True),
    "dspy.adapters.types.tool.ToolCalls": ClassGrant(hold=False, annotation=True),
    # Evaluation.
    "dspy.evaluate.evaluate.Evaluate": ClassGrant(
        construct=Arguments(named={"devset": EXAMPLES, "metric": METRIC, "save_as_csv": PATH, "save_as_json": PATH,
                                   **_EVALUATE_OPTIONS}),
        call=Arguments(named={"program": MODULE, "metric": METRIC, "devset": EXAMPLES,
                              **_data("num_threads", "display_progress", "display_table")},
                       positional=("program",)),
    ),
    # Optimizers: built and compiled by `optimize`; `metric` comes from its `metric` argument, trainset and
    # valset from its own. Integrations (use_wandb, use_mlflow, track_stats), code proposers and callbacks are
    # not in the table; log directories are paths inside the save directory.
    "dspy.teleprompt.vanilla.LabeledFewShot": _optimizer(_data("k"), _data("sample")),
    "dspy.teleprompt.bootstrap.BootstrapFewShot": _optimizer(_BOOTSTRAP, _TEACHER.named),
    "dspy.teleprompt.random_search.BootstrapFewShotWithRandomSearch": _optimizer(
        {**_BOOTSTRAP, **_data("num_candidate_programs", "num_threads", "stop_at_score")},
        {"teacher": MODULE, **_data("restrict", "labeled_sample")}),
    "dspy.teleprompt.infer_rules.InferRules": _optimizer(
        {**_BOOTSTRAP, **_data("num_candidates", "num_rules", "num_threads")}, _TEACHER.named),
    "dspy.teleprompt.copro_optimizer.COPRO": _optimizer(
        {"metric": METRIC, "prompt_model": LM, **_data("breadth", "depth", "init_temperature")},
        {"eval_kwargs": EVAL_KWARGS}),
    "dspy.teleprompt.mipro_optimizer_v2.MIPROv2": _optimizer(
        {"metric": METRIC, "prompt_model": LM, "task_model": LM, "teacher_settings": TEACHER_SETTINGS,
         "log_dir": PATH, **_data("max_bootstrapped_demos", "max_labeled_demos", "auto", "num_candidates",
                                  "num_threads", "max_errors", "seed", "init_temperature", "verbose",
                                  "metric_threshold")},
        {"teacher": MODULE, **_data("num_trials", "max_bootstrapped_demos", "max_labeled_demos", "seed", "minibatch",
                                    "minibatch_size", "minibatch_full_eval_steps", "program_aware_proposer",
                                    "data_aware_proposer", "view_data_batch_size", "tip_aware_proposer",
                                    "fewshot_aware_proposer", "provide_traceback")}),
    "dspy.teleprompt.simba.SIMBA": _optimizer(
        {"metric": METRIC, "prompt_model": LM, "teacher_settings": TEACHER_SETTINGS,
         **_data("bsize", "num_candidates", "max_steps", "max_demos", "demo_input_field_maxlen", "num_threads",
                 "temperature_for_sampling", "temperature_for_candidates")},
        _data("seed")),
    "dspy.teleprompt.gepa.gepa.GEPA": _optimizer(
        {"metric": METRIC, "reflection_lm": LM, "log_dir": PATH,
         **_data("auto", "max_full_evals", "max_metric_calls", "reflection_minibatch_size",
                 "candidate_selection_strategy", "skip_perfect_score", "add_format_failure_as_feedback",
                 "component_selector", "use_merge", "max_merge_invocations", "num_threads", "failure_score",
                 "perfect_score", "track_best_outputs", "warn_on_score_mismatch", "seed")},
        _TEACHER.named),
    # Instruction proposers: built by `propose_instructions`, which supplies prompt_model (the session's LM),
    # program (the handle) and trainset itself; `verbose` (prints prompts) is not granted.
    "dspy.propose.grounded_proposer.GroundedProposer": ClassGrant(
        propose=Arguments(named=_data(
            "view_data_batch_size", "use_dataset_summary", "program_aware", "use_task_demos", "num_demos_in_context",
            "use_instruct_history", "use_tip", "set_tip_randomly", "set_history_randomly", "init_temperature")),
        hold=False),
}

#: Objects the bridge's own commands make and keep for Node, in every grant (with --allow too): Node holds them
#: by handle and reaches them only through those commands (no `create`, no `call`, no attributes).
BRIDGE_TABLE: dict[str, ClassGrant] = {
    # study_create / study_ask / study_tell (commands/study.py): an Optuna study driven by ask and tell.
    "dspex_bridge.commands.study.OptunaStudy": ClassGrant(),
}
