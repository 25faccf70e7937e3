"""The capability boundary, tried as a hostile caller would: every escape from a Node argument (attribute chains
through DSPy objects, type annotations, eval/exec/compile/__import__, importlib, pickle, subprocess, os, ctypes,
file writes through save) is refused with NotAllowed naming what was refused, and imports nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest
from harness import TESTS_DIR, WorkerProcess

from dspex_bridge import NotAllowed
from dspex_bridge.capabilities import Grant, check_signature_string

FIXTURES = str(TESTS_DIR / "fixtures")
#: Standard-library modules no worker loads on its own: if one appears, a Node argument imported it.
SENTINELS = ["smtplib", "ftplib", "this", "pickletools", "mailbox", "xmlrpc", "wsgiref", "imaplib", "tkinter"]


def probe_worker(*flags: str, worker_id: str = "sec") -> WorkerProcess:
    env = {"PYTHONPATH": os.pathsep.join([FIXTURES, str(TESTS_DIR)])}
    return WorkerProcess(*flags, commands="security_probe", env=env, worker_id=worker_id)


@pytest.fixture(scope="module")
def save_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("saves")


@pytest.fixture(scope="module")
def sec(save_dir: Path) -> Iterator[WorkerProcess]:
    with probe_worker("--save-dir", str(save_dir)) as proc:
        proc.ready()
        yield proc


def refused(worker: WorkerProcess, cmd: str, args: dict[str, Any], *names: str, session: str = "s") -> str:
    """Asserts the call is NotAllowed and that its message names each of `names`; returns the message."""
    error = worker.call_error(cmd, args, session=session)
    assert error["type"] == "NotAllowed", error
    for name in names:
        assert name in error["message"], (name, error["message"])
    return str(error["message"])


def cot(worker: WorkerProcess, session: str = "s") -> str:
    created = worker.call("create", {"class": "dspy.ChainOfThought", "args": ["question -> answer"]}, session=session)
    return str(created["handle"])


def no_sentinel_loaded(worker: WorkerProcess) -> None:
    loaded = set(worker.call("loaded_modules"))
    assert not loaded & set(SENTINELS), sorted(loaded & set(SENTINELS))


# -- attribute chains ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("predict.signature.__module__", "__module__"),
        ("forward.__globals__", "forward"),
        ("forward", "forward"),
        ("__class__", "__class__"),
        ("predict.__class__.__init__", "__class__"),
        ("__dict__", "__dict__"),
        ("__reduce__", "__reduce__"),
        ("__reduce_ex__", "__reduce_ex__"),
        ("predict.__builtins__", "__builtins__"),
        ("_compiled", "_compiled"),
        ("callbacks", "callbacks"),
        ("history", "history"),
        ("save", "save"),
        ("load", "load"),
        ("dump_state", "dump_state"),
        ("named_parameters", "named_parameters"),
        ("predict.signature.model_fields", "model_fields"),
        ("predict.signature.fields.0", "0"),
        ("predict.demos.append", "append"),
        ("predict.lm.model", "model"),
        ("predict.config.keys", "keys"),
        ("predict[0]", "predict[0]"),
        ("predict..demos", "''"),
    ],
)
def test_attribute_chains_through_dspy_objects_are_refused(sec: WorkerProcess, name: str, named: str) -> None:
    handle = cot(sec)
    refused(sec, "get_attr", {"handle": handle, "name": name}, named)
    refused(sec, "set_attr", {"handle": handle, "name": name, "value": 1}, named)


def test_exposed_attributes_read_as_plain_data(sec: WorkerProcess) -> None:
    handle = cot(sec)
    signature = sec.call("get_attr", {"handle": handle, "name": "predict.signature"}, session="s")
    assert signature["signature"] == "question -> reasoning, answer"
    assert [f["name"] for f in signature["fields"]] == ["question", "reasoning", "answer"]
    assert sec.call("set_attr", {"handle": handle, "name": "predict.signature.instructions", "value": "Be brief."},
                    session="s")
    assert sec.call("get_attr", {"handle": handle, "name": "predict.signature.instructions"}, session="s") == "Be brief."
    predict = sec.call("get_attr", {"handle": handle, "name": "predict"}, session="s")
    assert predict["class"] == "dspy.predict.predict.Predict"
    held = sec.call("held_types", session="s")
    assert held[predict["$handle"]] == "dspy.predict.predict.Predict"


def test_an_lm_handle_exposes_nothing_and_cannot_be_called(sec: WorkerProcess) -> None:
    handle = cot(sec)
    assert sec.call("set_attr", {"handle": handle, "name": "predict.lm", "value": {"$lm": {"dummy": []}}}, session="s")
    lm = sec.call("get_attr", {"handle": handle, "name": "predict.lm"}, session="s")
    assert lm["class"] == "dspy.utils.dummies.DummyLM"
    for name in ("__class__", "forward", "model", "kwargs", "history"):
        refused(sec, "get_attr", {"handle": lm["$handle"], "name": name}, name)
    refused(sec, "call", {"handle": lm["$handle"], "kwargs": {"prompt": "hi"}}, "dspy.utils.dummies.DummyLM")
    refused(sec, "set_attr", {"handle": handle, "name": "predict", "value": {"$handle": lm["$handle"]}}, "predict")


def test_a_handle_is_only_made_for_a_granted_type() -> None:
    with probe_worker("--allow", "dspy.Predict", worker_id="narrow") as proc:
        proc.ready()
        handle = proc.call("create", {"class": "dspy.Predict", "args": ["q -> a"]}, session="n")["handle"]
        assert proc.call("set_attr", {"handle": handle, "name": "lm", "value": {"$lm": {"dummy": []}}}, session="n")
        # DummyLM is outside this grant: Node never receives a handle for it.
        refused(proc, "get_attr", {"handle": handle, "name": "lm"}, "dspy.utils.dummies.DummyLM", session="n")
        assert set(proc.call("held_types", session="n").values()) == {"dspy.predict.predict.Predict"}
        # A class is never handed out, even one built by a granted constructor.
        with probe_worker("--allow", "dspy.Signature", worker_id="sig") as sig:
            sig.ready()
            refused(sig, "create", {"class": "dspy.Signature", "args": ["q -> a"]}, "a class")


# -- construction and calls ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "os.system", "builtins.eval", "builtins.exec", "builtins.compile", "builtins.__import__",
        "importlib.import_module", "pickle.loads", "subprocess.Popen", "ctypes.CDLL", "dspy.configure",
        "dspy.PythonInterpreter", "dspy.primitives.python_interpreter.PythonInterpreter", "dspy.utils.saving.Path",
    ],
)
def test_classes_and_functions_outside_the_grant_are_not_built(sec: WorkerProcess, path: str) -> None:
    refused(sec, "create", {"class": path, "args": ["ls"]}, repr(path))
    refused(sec, "optimize", {"handle": cot(sec), "optimizer": path, "trainset": [], "input_keys": ["question"]},
            repr(path))


ANNOTATIONS = [
    ("x: Annotated[str, os.system] -> y", "os.system"),
    ("x: os.system -> y", "os.system"),
    ("x: sys.modules -> y", "sys.modules"),
    ("x: typing.sys -> y", "typing.sys"),
    ("x: str, z: importlib.import_module -> y", "importlib.import_module"),
    ("x: builtins.eval -> y", "builtins.eval"),
    ("x -> y: eval", "eval"),
    ("x: exec -> y", "exec"),
    ("x: compile -> y", "compile"),
    ("x: __import__('os') -> y", "__import__('os')"),
    ("x: pickle.loads -> y", "pickle.loads"),
    ("x: subprocess.Popen -> y", "subprocess.Popen"),
    ("x: ctypes.CDLL -> y", "ctypes.CDLL"),
    ("x: smtplib.SMTP -> y", "smtplib.SMTP"),
    ("x: list[this] -> y", "this"),
    ("x: Optional[ftplib.FTP] -> y", "ftplib.FTP"),
    ("x: dspy.Predict.__init__ -> y", "dspy.Predict.__init__"),
    ("x: dspy.utils.saving.Path -> y", "dspy.utils.saving.Path"),
    ("x: Field(default_factory=os.getcwd) -> y", "Field"),
    ("x: str | mailbox.Mailbox -> y", "mailbox.Mailbox"),
    ("x: Literal[pickletools] -> y", "pickletools"),
]


@pytest.mark.parametrize(("signature", "named"), ANNOTATIONS)
def test_type_annotations_outside_the_grammar_are_refused_everywhere(sec: WorkerProcess, signature: str,
                                                                      named: str) -> None:
    handle = cot(sec)
    refused(sec, "create", {"class": "dspy.Predict", "args": [signature]}, named)
    refused(sec, "create", {"class": "dspy.Predict", "kwargs": {"signature": signature}}, named)
    refused(sec, "load", {"class": "dspy.ChainOfThought", "args": [signature], "state": {}}, named)
    refused(sec, "call", {"handle": handle, "kwargs": {"question": "q", "signature": signature}}, named)
    refused(sec, "set_attr", {"handle": handle, "name": "predict.signature", "value": signature}, named)
    refused(sec, "evaluate", {"handle": handle, "devset": [{"question": "q", "signature": signature, "answer": "a"}],
                              "input_keys": ["question", "signature"], "metric": "exact_match"}, named)
    refused(sec, "optimize", {"handle": handle, "optimizer": "BootstrapFewShot", "input_keys": ["question"],
                              "trainset": [{"question": "q", "answer": "a"}],
                              "optimizer_kwargs": {"metric_threshold": None, "teacher_settings": {"s": signature}}},
            named)
    no_sentinel_loaded(sec)


def test_legit_signatures_still_work(sec: WorkerProcess) -> None:
    for signature in ["question -> answer", "question: str, n: int -> answer: list[str]",
                      "q: Optional[int] -> a: Literal['yes', 'no']", "q: dict[str, int] | None -> a: bool",
                      "image: dspy.Image -> caption", "q: typing.List[str] -> a"]:
        assert sec.call("create", {"class": "dspy.Predict", "args": [signature]}, session="s")["handle"]
    # Text that merely contains an arrow is not a signature DSPy could parse, so it passes untouched.
    sec.call("configure_lm", {"dummy": [{"answer": "ok"}]}, session="arrow")
    handle = sec.call("create", {"class": "dspy.Predict", "args": ["question -> answer"]}, session="arrow")["handle"]
    assert sec.call("call", {"handle": handle, "kwargs": {"question": "What does x -> y mean?"}},
                    session="arrow") == {"answer": "ok"}


def test_litellm_callbacks_cannot_be_named_from_node(sec: WorkerProcess) -> None:
    handle = cot(sec)
    refused(sec, "configure_lm", {"model": "openai/x", "kwargs": {"callbacks": ["langfuse"]}}, "callbacks")
    refused(sec, "configure_lm", {"model": "openai/x", "kwargs": {"success_callback": ["langfuse"]}}, "success_callback")
    refused(sec, "create", {"class": "dspy.Predict", "args": ["q -> a"], "kwargs": {"callbacks": ["x"]}}, "callbacks")
    refused(sec, "call", {"handle": handle, "kwargs": {"question": "q", "config": {"success_callback": ["x"]}}},
            "success_callback")
    refused(sec, "set_attr", {"handle": handle, "name": "predict.config", "value": {"callbacks": ["x"]}}, "callbacks")


# -- files -----------------------------------------------------------------------------------------------------
def test_save_writes_only_json_under_the_save_directory(sec: WorkerProcess, save_dir: Path, tmp_path: Path) -> None:
    handle = cot(sec)
    outside = tmp_path / "outside"
    outside.mkdir()
    (save_dir / "escape").symlink_to(outside)
    (save_dir / "planted.json").symlink_to(outside / "planted.json")
    for path, named in [
        (str(outside / "x.json"), "outside the save directory"),
        ("../x.json", ".."),
        ("sub/../../x.json", ".."),
        ("escape/x.json", "outside the save directory"),
        ("planted.json", "outside the save directory"),
        ("x.pkl", "pickle"),
        ("x.py", ".json"),
        ("/etc/cron.d/x.json", "outside the save directory"),
    ]:
        refused(sec, "save", {"handle": handle, "path": path}, named)
        refused(sec, "load", {"class": "dspy.ChainOfThought", "args": ["question -> answer"], "path": path}, named)
    assert list(outside.iterdir()) == []
    state = sec.call("save", {"handle": handle, "path": "nested/program.json"}, session="s")
    assert (save_dir / "nested" / "program.json").is_file()
    loaded = sec.call("load", {"class": "dspy.ChainOfThought", "args": ["question -> answer"],
                               "path": str(save_dir / "nested" / "program.json")}, session="s")
    assert sec.call("save", {"handle": loaded["handle"]}, session="s")["predict"] == state["predict"]


def test_paths_named_by_constructor_arguments_stay_in_the_save_directory(sec: WorkerProcess, tmp_path: Path) -> None:
    handle = cot(sec)
    refused(sec, "optimize", {"handle": handle, "optimizer": "GEPA", "trainset": [], "input_keys": ["question"],
                              "optimizer_kwargs": {"log_dir": str(tmp_path / "gepa"), "max_metric_calls": 1}},
            "log_dir")
    refused(sec, "optimize", {"handle": handle, "optimizer": "GEPA", "trainset": [], "input_keys": ["question"],
                              "optimizer_kwargs": {"gepa_kwargs": {"run_dir": str(tmp_path / "gepa")}}}, "gepa_kwargs")
    refused(sec, "optimize", {"handle": handle, "optimizer": "GEPA", "trainset": [], "input_keys": ["question"],
                              "optimizer_kwargs": {"use_wandb": True}}, "use_wandb")
    refused(sec, "create", {"class": "dspy.Evaluate", "kwargs": {"devset": [], "save_as_json": str(tmp_path / "e")}},
            "save_as_json")
    refused(sec, "optimize", {"handle": handle, "optimizer": "BetterTogether", "trainset": [],
                              "input_keys": ["question"]}, "BetterTogether")
    assert not (tmp_path / "gepa").exists()


def test_a_state_map_cannot_set_private_attributes(sec: WorkerProcess) -> None:
    state = sec.call("save", {"handle": cot(sec)}, session="s")
    for key in ("__class__", "__dict__", "_compiled"):
        bad = {**state, "predict": {**state["predict"], key: {}}}
        refused(sec, "load", {"class": "dspy.ChainOfThought", "args": ["question -> answer"], "state": bad}, key)


def test_without_a_save_directory_no_path_is_accepted(tmp_path: Path) -> None:
    with probe_worker(worker_id="nodir") as proc:
        proc.ready()
        handle = proc.call("create", {"class": "dspy.Predict", "args": ["q -> a"]})["handle"]
        for path in (str(tmp_path / "x.json"), "x.json"):
            refused(proc, "save", {"handle": handle, "path": path}, "no save directory", session=None)  # type: ignore[arg-type]
        state = proc.call("save", {"handle": handle})
        assert proc.call("load", {"class": "dspy.Predict", "args": ["q -> a"], "state": state})["handle"]
    assert list(tmp_path.iterdir()) == []


def test_pickle_only_when_the_pool_enables_it(tmp_path: Path) -> None:
    with probe_worker("--save-dir", str(tmp_path), "--allow-pickle", worker_id="pickle") as proc:
        proc.ready()
        handle = proc.call("create", {"class": "dspy.Predict", "args": ["q -> a"]})["handle"]
        proc.call("save", {"handle": handle, "path": "p.pkl"})
        assert (tmp_path / "p.pkl").is_file()
        assert proc.call("load", {"class": "dspy.Predict", "args": ["q -> a"], "path": "p.pkl"})["handle"]
        refused(proc, "load", {"class": "dspy.Predict", "args": ["q -> a"], "path": "/tmp/p.pkl"},
                "outside the save directory", session=None)  # type: ignore[arg-type]


# -- the grammar and the grant, in process -----------------------------------------------------------------------
def test_the_grammar_passes_only_what_dspy_cannot_misuse() -> None:
    grant = Grant()
    for text, named in ANNOTATIONS:
        with pytest.raises(NotAllowed, match="not allowed|nest"):
            check_signature_string(text, grant.covers_class_path)
    for harmless in ["no arrow", "a -> b -> c", "Map x -> y", "q -> a", "x: int = os.system() -> y"]:
        check_signature_string(harmless, grant.covers_class_path)


def test_the_grant_judges_types_by_their_real_home() -> None:
    import collections

    import dspy

    grant = Grant()
    assert grant.grants_type(dspy.Predict) and grant.grants_type(dspy.ChainOfThought)
    assert not grant.grants_type(collections.OrderedDict)
    assert not grant.grants_type(dspy.PythonInterpreter)  # in dspy, but not in the table
    narrow = Grant(["dspy.Predict"])
    assert narrow.grants_type(dspy.Predict) and not narrow.grants_type(dspy.ChainOfThought)
    for obj, what in [(os, "a module"), (os.system, "a function"), (dspy.Predict, "a class"),
                      (dspy.Predict("q -> a").forward, "a function"), (eval, "a function")]:
        with pytest.raises(NotAllowed, match=what):
            grant.check_handle(obj)
    with pytest.raises(NotAllowed, match="builtins.dict"):
        grant.check_handle({})


# -- the default grant is a table --------------------------------------------------------------------------------
UNLISTED = [
    "dspy.ProgramOfThought", "dspy.CodeAct", "dspy.primitives.python_interpreter.PythonInterpreter",
    "dspy.clients.lm_local.LocalProvider", "dspy.LM", "dspy.Embedder", "dspy.KNN", "dspy.Parallel",
    "dspy.Planted",  # planted in dspy's namespace by security_probe: a class no table foresaw
]


@pytest.mark.parametrize("path", UNLISTED)
def test_dspy_classes_the_table_does_not_list_are_not_built(sec: WorkerProcess, path: str) -> None:
    message = refused(sec, "create", {"class": path, "args": ["question -> answer"]}, repr(path))
    assert "python.allow" in message or "not to be built" in message


@pytest.mark.parametrize("optimizer", ["BetterTogether", "BootstrapFinetune", "KNNFewShot", "Ensemble",
                                       "AvatarOptimizer", "PlantedOptimizer"])
def test_optimizers_the_table_does_not_list_are_not_run(sec: WorkerProcess, optimizer: str) -> None:
    refused(sec, "optimize", {"handle": cot(sec), "optimizer": optimizer, "trainset": [], "input_keys": ["question"]},
            optimizer)


@pytest.mark.parametrize(
    ("cmd", "args", "names"),
    [
        ("create", {"class": "dspy.Predict", "args": ["q -> a"], "kwargs": {"output": "x.json"}}, ["output"]),
        ("create", {"class": "dspy.Predict", "args": ["q -> a"], "kwargs": {"location": "/tmp"}}, ["location"]),
        ("create", {"class": "dspy.Predict", "args": ["q -> a"], "kwargs": {"api_base": "http://evil"}}, ["api_base"]),
        ("create", {"class": "dspy.ReAct", "args": ["q -> a", [], 3, "extra"]}, ["positional"]),
        ("create", {"class": "dspy.ChatAdapter", "kwargs": {"callbacks": []}}, ["callbacks"]),
        ("create", {"class": "dspy.ChainOfThought", "args": ["q -> a"], "kwargs": {"rationale_field_type": "x"}},
         ["rationale_field_type"]),
        ("optimize", {"optimizer": "GEPA", "optimizer_kwargs": {"cache_dir_root": "/tmp/x"}}, ["cache_dir_root"]),
        ("optimize", {"optimizer": "GEPA", "optimizer_kwargs": {"trace_to": "/tmp/x"}}, ["trace_to"]),
        ("optimize", {"optimizer": "GEPA", "optimizer_kwargs": {"instruction_proposer": "x"}}, ["instruction_proposer"]),
        ("optimize", {"optimizer": "MIPROv2", "optimizer_kwargs": {"track_stats": True}}, ["track_stats"]),
        ("optimize", {"optimizer": "MIPROv2", "compile_kwargs": {"requires_permission_to_run": True}},
         ["requires_permission_to_run", "compile"]),
        ("optimize", {"optimizer": "BootstrapFewShot", "optimizer_kwargs": {"teacher_settings": {"callbacks": []}}},
         ["callbacks", "teacher_settings"]),
        ("optimize", {"optimizer": "COPRO", "compile_kwargs": {"eval_kwargs": {"save_as_json": "x.json"}}},
         ["save_as_json", "eval_kwargs"]),
    ],
)
def test_arguments_the_table_does_not_list_are_refused_naming_class_and_argument(
        sec: WorkerProcess, cmd: str, args: dict[str, Any], names: list[str]) -> None:
    if cmd == "optimize":
        args = {"handle": cot(sec), "trainset": [], "input_keys": ["question"], **args}
    message = refused(sec, cmd, args, *names)
    assert "dspy." in message  # the class, by its real home
    if "positional" not in names:
        assert "python.grant" in message  # and how to grant it


def test_granted_but_not_buildable_classes_are_refused_by_create(sec: WorkerProcess) -> None:
    for path in ("dspy.clients.lm.LM", "dspy.Tool", "dspy.teleprompt.GEPA", "dspy.Image"):
        refused(sec, "create", {"class": path, "args": []}, repr(path), "not to be built")


def test_the_default_table_lists_real_classes_and_each_is_built_with_its_declared_arguments(tmp_path: Path) -> None:
    import inspect

    import dspy

    from dspex_bridge.capabilities import DEFAULT_TABLE, qualified_name
    from dspex_bridge.session import Session, ToolSpec

    grant = Grant(save_dir=tmp_path)
    session = Session("table", None)
    session.register_tool(ToolSpec("search"))
    module = {"$handle": session.put(dspy.Predict("q -> a"))}
    lm = {"$lm": {"dummy": [{"a": "x"}]}}
    samples: dict[str, dict[str, Any]] = {
        "Predict": {"signature": "q -> a", "temperature": 0.5, "n": 1},
        "ChainOfThought": {"signature": "q -> a", "max_tokens": 10},
        "ReAct": {"signature": "q -> a", "tools": [{"$tool": "search"}], "max_iters": 2},
        "MultiChainComparison": {"signature": "q -> a", "M": 2, "temperature": 0.5},
        "BestOfN": {"module": module, "N": 2, "reward_fn": "exact_match", "threshold": 1.0, "fail_count": 1},
        "Refine": {"module": module, "N": 2, "reward_fn": {"$tool": "search"}, "threshold": 1.0},
        "Example": {"q": "x", "a": "y"},
        "Prediction": {"a": "y"},
        "ChatAdapter": {"use_native_function_calling": False, "use_json_adapter_fallback": True},
        "JSONAdapter": {"use_native_function_calling": False},
        "XMLAdapter": {"parallel_tool_calls": None},
        "TwoStepAdapter": {"extraction_model": lm},
        "Evaluate": {"devset": [{"q": "x"}], "metric": "exact_match", "num_threads": 1, "save_as_json": "e.json"},
        "LabeledFewShot": {"k": 2},
        "BootstrapFewShot": {"metric": "exact_match", "teacher_settings": {"lm": lm}, "max_rounds": 1},
        "BootstrapFewShotWithRandomSearch": {"metric": "exact_match", "num_candidate_programs": 2},
        "InferRules": {"metric": "exact_match", "num_rules": 2},
        "COPRO": {"metric": "exact_match", "prompt_model": lm, "breadth": 2},
        "MIPROv2": {"metric": "exact_match", "prompt_model": lm, "task_model": lm, "auto": None, "num_candidates": 2,
                    "log_dir": "mipro"},
        "SIMBA": {"metric": "exact_match", "prompt_model": lm, "bsize": 2},
        "GEPA": {"metric": {"$tool": "search"}, "reflection_lm": lm, "max_metric_calls": 2, "log_dir": "gepa"},
    }
    built = []
    for path, entry in DEFAULT_TABLE.items():
        cls = grant.resolve(path)[0]
        assert qualified_name(cls) == path  # the table names where each class really lives
        tables = [(cls.__init__, entry.construct)] if entry.construct is not None else []
        tables += [(cls.compile, entry.compile)] if entry.compile is not None else []
        for target, arguments in tables:  # every declared name is a real parameter (or goes to **config)
            params = inspect.signature(target).parameters
            takes_rest = any(p.kind is p.VAR_KEYWORD for p in params.values())
            assert takes_rest or set(arguments.named) <= set(params), (path, set(arguments.named) - set(params))
        if entry.construct is None:
            continue
        _, kwargs = grant.bind(cls, entry.construct, session, None, samples[cls.__name__], purpose="construction")
        with dspy.context(lm=dspy.utils.DummyLM([])):
            obj = cls(**kwargs)
        assert isinstance(obj, cls)
        built.append(cls.__name__)
    assert sorted(built) == sorted(samples)
    # Declared paths land in the save directory, resolved.
    _, kwargs = grant.bind(dspy.GEPA, DEFAULT_TABLE["dspy.teleprompt.gepa.gepa.GEPA"].construct, session, None,
                           {"log_dir": "runs/1"}, purpose="construction")
    assert kwargs["log_dir"] == str(tmp_path.resolve() / "runs" / "1")


# -- operator grants -------------------------------------------------------------------------------------------
def test_an_operator_grant_table_from_node_config_is_enforced_by_name() -> None:
    grant = '{"security_probe.Counter": {"construct": ["start"]}, "dspy.ProgramOfThought": {"construct": false}}'
    with probe_worker("--grant", grant, worker_id="fine") as proc:
        proc.ready()
        made = proc.call("create", {"class": "security_probe.Counter", "kwargs": {"start": 3}}, session="f")
        assert proc.call("held_types", session="f")[made["handle"]] == "security_probe.Counter"
        refused(proc, "create", {"class": "security_probe.Counter", "kwargs": {"label": "x"}}, "security_probe.Counter",
                "'label'", session="f")
        refused(proc, "create", {"class": "security_probe.Counter", "args": [3]}, "positional", session="f")
        # The default table still applies beside it.
        assert proc.call("create", {"class": "dspy.Predict", "args": ["q -> a"]}, session="f")["handle"]
        refused(proc, "create", {"class": "dspy.ProgramOfThought", "args": ["q -> a"]}, "not to be built", session="f")


def test_allow_patterns_are_the_operators_own_classes_and_dspy_star_is_broad() -> None:
    with probe_worker("--allow", "security_probe.*,dspy.*", worker_id="broad") as proc:
        proc.ready()
        # An operator's class: its arguments are the operator's responsibility.
        assert proc.call("create", {"class": "security_probe.Counter", "args": [1, "x"]}, session="b")["handle"]
        # dspy.* grants what the table leaves out (ProgramOfThought runs code: a broad, explicit choice)...
        assert proc.call("create", {"class": "dspy.ProgramOfThought", "args": ["q -> a"]}, session="b")["handle"]
        # ...while a class the table lists keeps the table's arguments.
        handle = proc.call("create", {"class": "dspy.Predict", "args": ["q -> a"]}, session="b")["handle"]
        refused(proc, "optimize", {"handle": handle, "optimizer": "GEPA", "trainset": [], "input_keys": ["q"],
                                   "optimizer_kwargs": {"use_wandb": True}}, "use_wandb", session="b")
        refused(proc, "create", {"class": "builtins.eval", "args": ["1"]}, "'builtins.eval'", session="b")


def test_lm_request_options_are_a_table_too(sec: WorkerProcess) -> None:
    handle = cot(sec)
    refused(sec, "configure_lm", {"model": "openai/x", "kwargs": {"base_url": "http://evil"}}, "base_url")
    refused(sec, "set_attr", {"handle": handle, "name": "predict.config", "value": {"api_base": "http://evil"}},
            "api_base")
    assert sec.call("set_attr", {"handle": handle, "name": "predict.config", "value": {"temperature": 0.3, "n": 2}},
                    session="s")
    assert sec.call("get_attr", {"handle": handle, "name": "predict.config"}, session="s") == {"temperature": 0.3, "n": 2}


def test_a_malformed_grant_stops_the_worker_at_startup() -> None:
    for grant in ("{not json", '{"security_probe.Counter": {"construct": {"start": "anything"}}}'):
        with probe_worker("--grant", grant, worker_id="badgrant") as proc:
            assert proc.proc.wait(timeout=30) == 2
