"""A worker whose configuration is wrong does not serve: before `ready` it checks every setting (the save directory,
the grant's patterns and entries, each class or module they name, the command modules) and reports the first wrong
one in a fatal StartupError frame naming it (`setting`, `entry`), with what Python raised and its traceback, then
exits 2 (EXIT_STARTUP). Node turns it into WorkerStartupFailed (packages/python-bridge/test/startup_errors.test.ts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dspex_bridge.errors import ConfigurationError
from dspex_bridge.registry import Registry
from dspex_bridge.startup import build_grant, check_allow, load_commands, startup_failure_frame
from harness import TESTS_DIR, WorkerProcess

FIXTURES = str(TESTS_DIR / "fixtures")

BROKEN = {
    "dspex_broken_raises": ("def helper():\n    raise RuntimeError('broken on purpose')\n\nhelper()\n", "RuntimeError", "broken on purpose"),
    "dspex_broken_syntax": ("def f(:\n    pass\n", "SyntaxError", "invalid syntax"),
    "dspex_broken_missing": (None, "ModuleNotFoundError", "No module named 'dspex_broken_missing'"),
    "dspex_broken_not_a_function": ("from dspex_bridge import command\ncommand('five')(5)\n", "TypeError",
                                    "@command decorates a function, not 5"),
}


def startup_failure(*flags: str, commands: str | None = "bridge_test_commands", pythonpath: str = FIXTURES) -> dict[str, Any]:
    """Starts a worker with `flags`, and returns the error of the fatal frame it answers with (it must exit 2)."""
    with WorkerProcess(*flags, commands=commands, env={"PYTHONPATH": pythonpath}) as proc:
        fatal = proc.recv()
        assert fatal["t"] == "fatal", fatal
        assert fatal["error"]["type"] == "StartupError"
        assert proc.wait() == 2
        return fatal["error"]


@pytest.mark.parametrize("module", sorted(BROKEN))
def test_a_command_module_that_fails_to_import_names_the_setting_and_the_module(module: str, tmp_path: Path) -> None:
    source, python_type, text = BROKEN[module]
    if source is not None:
        (tmp_path / f"{module}.py").write_text(source)
    error = startup_failure(commands=f"bridge_test_commands,{module}", pythonpath=str(tmp_path))
    assert (error["setting"], error["entry"], error["module"], error["python_type"]) == ("python.commands", module, module, python_type)
    assert text in error["python_message"]
    assert error["message"].startswith(f"python.commands module {module!r} failed to import: {python_type}: ")
    assert "Traceback (most recent call last)" in error["traceback"] and text in error["traceback"]
    if module == "dspex_broken_raises":
        assert "helper()" in error["traceback"]  # the frames inside the module, not only the importer's


def test_a_command_module_that_defines_no_command_is_refused(tmp_path: Path) -> None:
    # A package whose commands sit in a submodule: it imports, and registers nothing.
    (tmp_path / "dspex_empty_commands.py").write_text("VALUE = 1\n")
    error = startup_failure(commands="bridge_test_commands,dspex_empty_commands", pythonpath=str(tmp_path))
    assert (error["setting"], error["entry"], error["python_type"]) == ("python.commands", "dspex_empty_commands", "ConfigurationError")
    assert "defines no command" in error["message"]


def test_a_module_whose_commands_were_registered_by_an_earlier_one_is_fine() -> None:
    registry = Registry()
    # bridge_test_commands registers into the process-wide registry; imported once, its commands are defined there.
    load_commands([], ["bridge_test_commands"])
    load_commands([], ["bridge_test_commands"])  # imported already: nothing new registers, but it defines commands
    with pytest.raises(ConfigurationError) as failed:
        load_commands([], ["json"], registry=registry)
    assert failed.value.setting == "python.commands"


@pytest.mark.parametrize(
    ("grant", "entry", "python_type", "text"),
    [
        ({"security_probe.Countr": {"construct": ["start"]}}, "security_probe.Countr", "AttributeError", "'Countr'"),
        ({"no_such_pkg_for_dspex.Scorer": {"construct": True}}, "no_such_pkg_for_dspex.Scorer", "ModuleNotFoundError", "no_such_pkg_for_dspex"),
        ({"security_probe.held_types": {"construct": True}}, "security_probe.held_types", "TypeError", "is not a class"),
    ],
)
def test_a_grant_entry_naming_no_importable_class_is_refused(grant: dict[str, Any], entry: str, python_type: str, text: str) -> None:
    error = startup_failure("--grant", json.dumps(grant), commands="security_probe")
    assert (error["setting"], error["entry"], error["python_type"]) == ("python.grant", entry, python_type)
    assert error["message"].startswith(f"python.grant names {entry!r}, which is not a class the workers can import")
    assert text in error["message"]


@pytest.mark.parametrize(
    ("grant", "text"),
    [
        ("{not json", "not valid JSON"),
        ('["security_probe.Counter"]', "expected a map"),
        ('{"security_probe.Counter": {"construct": {"start": "anything"}}}', "unknown kind 'anything'"),
        ('{"security_probe.Counter": {"construct": ["start"], "positional": "start"}}', "positional: expected a list"),
        ('{"security_probe.Counter": {"positional": ["start"]}}', "grants no construct"),
        ('{"security_probe.Counter": {"construct": ["start"], "hold": "yes"}}', "hold: expected true or false"),
        ('{"security_probe.Counter": {"constrct": ["start"]}}', "an entry is a map of construct"),
        ('{"Counter": {"construct": ["start"]}}', "dotted path of a public class"),
    ],
)
def test_a_malformed_grant_is_refused_before_anything_is_imported(grant: str, text: str) -> None:
    with pytest.raises(ConfigurationError) as failed:
        build_grant(None, grant, None, False)
    assert failed.value.setting == "python.grant"
    assert text in str(failed.value)


def test_a_malformed_grant_stops_the_worker_with_a_frame_naming_it() -> None:
    error = startup_failure("--grant", '{"security_probe.Counter": {"construct": {"start": "anything"}}}', commands="security_probe")
    assert (error["setting"], error["python_type"], error["traceback"]) == ("python.grant", "ConfigurationError", "")
    assert "unknown kind 'anything'" in error["message"]


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("json.JSONDecodr", "which is no class the workers can import"),
        ("no_such_pkg_for_dspex.*", "starts with 'no_such_pkg_for_dspex', which the workers cannot import"),
        ("json.nothing_here.*", "starts with 'json.nothing_here', which the workers cannot import"),
        ("json.dumps.*", "starts with 'json.dumps', which is neither a module nor a class"),
        ("json", "names a module, not a class"),
        ("json._private", "is not a dotted class path or glob over public names"),
        ("js on.*", "is not a dotted class path or glob over public names"),
        ("json..JSONDecoder", "is not a dotted class path or glob over public names"),
        ("json.JSONDecoder.decode", "is not a class"),
    ],
)
def test_an_allow_pattern_that_names_nothing_importable_is_refused(pattern: str, text: str) -> None:
    with pytest.raises(ConfigurationError) as failed:
        check_allow([pattern])
    assert (failed.value.setting, failed.value.entry) == ("python.allow", pattern)
    assert text in str(failed.value)


def test_allow_patterns_that_import_are_accepted_without_a_class_for_each_wildcard() -> None:
    # An exact class, globs after an importable module or class, a glob with no literal module (not checkable).
    check_allow(["json.JSONDecoder", "json.*", "json.decoder.*", "json.JSONDecoder.*", "*.Counter", "json.JSON?ecoder"])


def test_an_allow_typo_stops_the_worker_with_a_frame_naming_it() -> None:
    error = startup_failure("--allow", "security_probe.Counter,security_probe.Countr", commands="security_probe")
    assert (error["setting"], error["entry"]) == ("python.allow", "security_probe.Countr")


def test_a_save_dir_that_is_not_a_directory_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    error = startup_failure("--save-dir", str(missing))
    assert (error["setting"], error["entry"]) == ("python.saveDir", str(missing))
    assert "does not exist" in error["message"]
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ConfigurationError, match="is not a directory") as failed:
        build_grant(None, None, str(a_file), False)
    assert failed.value.setting == "python.saveDir"


def test_allow_pickle_without_a_save_dir_is_refused() -> None:
    error = startup_failure("--allow-pickle")
    assert error["setting"] == "python.allowPickle"
    assert "python.saveDir is not" in error["message"]


def test_an_error_that_is_not_a_setting_keeps_its_own_type_and_trace() -> None:
    try:
        raise ValueError("boom")
    except ValueError as exc:
        error = startup_failure_frame(exc)
    assert (error["type"], error["python_type"], error["message"]) == ("StartupError", "ValueError", "ValueError: boom")
    assert "setting" not in error and "raise ValueError" in error["traceback"]


def test_a_valid_configuration_serves(tmp_path: Path) -> None:
    grant = json.dumps({"security_probe.Counter": {"construct": ["start"]}})
    flags = ("--grant", grant, "--allow", "security_probe.Counter,dspy.Predict", "--save-dir", str(tmp_path), "--allow-pickle")
    with WorkerProcess(*flags, commands="security_probe", env={"PYTHONPATH": FIXTURES}) as proc:
        proc.ready()
        made = proc.call("create", {"class": "security_probe.Counter", "kwargs": {"start": 3}}, session="ok")
        assert proc.call("held_types", session="ok")[made["handle"]] == "security_probe.Counter"
