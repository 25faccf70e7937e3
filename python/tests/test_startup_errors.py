"""A --commands module that fails to import: the worker's fatal frame names the module, Python's exception type
and message, and carries the import's traceback; the worker exits 2 (EXIT_STARTUP). Node turns it into
WorkerStartupFailed (packages/python-bridge/test/startup_errors.test.ts)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness import TESTS_DIR, WorkerProcess

BROKEN = {
    "dspex_broken_raises": ("def helper():\n    raise RuntimeError('broken on purpose')\n\nhelper()\n", "RuntimeError", "broken on purpose"),
    "dspex_broken_syntax": ("def f(:\n    pass\n", "SyntaxError", "invalid syntax"),
    "dspex_broken_missing": (None, "ModuleNotFoundError", "No module named 'dspex_broken_missing'"),
}


@pytest.mark.parametrize("module", sorted(BROKEN))
def test_a_module_that_fails_to_import_is_a_fatal_startup_error(module: str, tmp_path: Path) -> None:
    source, python_type, text = BROKEN[module]
    if source is not None:
        (tmp_path / f"{module}.py").write_text(source)
    env = {"PYTHONPATH": os.pathsep.join([str(TESTS_DIR), str(tmp_path)])}
    with WorkerProcess(commands=f"bridge_test_commands,{module}", env=env) as proc:
        fatal = proc.recv()
        assert fatal["t"] == "fatal", fatal
        error = fatal["error"]
        assert (error["type"], error["python_type"], error["module"]) == ("StartupError", python_type, module)
        assert text in error["message"]
        assert error["message"].startswith(f"{python_type}: ")
        assert "Traceback (most recent call last)" in error["traceback"] and text in error["traceback"]
        if module == "dspex_broken_raises":
            assert "helper()" in error["traceback"]  # the frames inside the module, not only the importer's
        assert proc.wait() == 2
