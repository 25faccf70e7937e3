"""An operator's allow-list (--allow): glob patterns resolved by import + getattr only, every refusal NotAllowed.
The worker's default grant is not an allow-list but the table in capabilities/table.py (test_security.py)."""

from __future__ import annotations

import pytest

from dspex_bridge import NotAllowed
from dspex_bridge.allowlist import AllowList


DSPY = ["dspy.*"]


def test_an_allow_list_without_patterns_allows_nothing() -> None:
    with pytest.raises(NotAllowed, match="not allowed"):
        AllowList().resolve_class("dspy.Predict")


def test_the_broad_dspy_pattern_allows_dspy_classes() -> None:
    import dspy

    allow = AllowList(DSPY)
    assert allow.resolve_class("dspy.Predict") is dspy.Predict
    assert allow.resolve_class("dspy.ChainOfThought") is dspy.ChainOfThought
    assert allow.resolve_class("dspy.ReAct") is dspy.ReAct
    assert allow.resolve_class("dspy.teleprompt.BootstrapFewShot") is dspy.teleprompt.BootstrapFewShot
    assert allow.resolve_class("dspy.predict.predict.Predict") is dspy.Predict  # through submodules


@pytest.mark.parametrize(
    "path",
    [
        "os.system",  # outside the patterns
        "subprocess.Popen",
        "builtins.eval",
        "dspy",  # not a dotted class path
        "dspy.__class__",  # private segment
        "dspy._private",
        "dspy.Predict.__init__",
        "dspy.Predict; import os",  # not an identifier path
        "dspy.no_such_thing",
        "dspy.configure",  # exists, but not a class
    ],
)
def test_refusals(path: str) -> None:
    with pytest.raises(NotAllowed):
        AllowList(DSPY).resolve_class(path)


def test_classes_reexported_from_other_packages_are_refused() -> None:
    # dspy.clients.lm imports litellm-related helpers; anything whose real home is outside dspy is refused even
    # though the path matches "dspy.*".
    import dspy.utils.saving as saving

    assert hasattr(saving, "Path")  # pathlib.Path is reachable by getattr from a dspy module...
    with pytest.raises(NotAllowed, match="outside package"):
        AllowList(DSPY).resolve_class("dspy.utils.saving.Path")  # ...but is not constructible


def test_custom_patterns() -> None:
    allow = AllowList.parse("dspy.Predict,collections.Ordered*")
    import collections

    assert allow.resolve_class("collections.OrderedDict") is collections.OrderedDict
    assert allow.resolve_class("dspy.Predict").__name__ == "Predict"
    with pytest.raises(NotAllowed, match="not allowed"):
        allow.resolve_class("dspy.ChainOfThought")
    with pytest.raises(NotAllowed):
        AllowList.parse("").resolve_class("dspy.Predict")
