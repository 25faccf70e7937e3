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
                              "optimizer_kwargs": {"gepa_kwargs": {"run_dir": str(tmp_path / "gepa")}}}, "run_dir")
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
    assert not grant.grants_type(dspy.PythonInterpreter)  # in dspy, but denied whatever the patterns say
    narrow = Grant(["dspy.Predict"])
    assert narrow.grants_type(dspy.Predict) and not narrow.grants_type(dspy.ChainOfThought)
    for obj, what in [(os, "a module"), (os.system, "a function"), (dspy.Predict, "a class"),
                      (dspy.Predict("q -> a").forward, "a function"), (eval, "a function")]:
        with pytest.raises(NotAllowed, match=what):
            grant.check_handle(obj)
    with pytest.raises(NotAllowed, match="builtins.dict"):
        grant.check_handle({})
