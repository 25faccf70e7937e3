"""The @command decorator and registry: kinds of commands, argument binding, duplicates, module loading."""

from __future__ import annotations

from typing import Any, AsyncIterator, Iterator

import pytest

from dspex_bridge import REGISTRY, BadArguments, Registry, UnknownCommand, command
from dspex_bridge.registry import CommandModuleError, load_command_modules


def test_decorator_registers_each_kind_of_function() -> None:
    registry = Registry()

    @command("plain", registry=registry)
    def plain(x: int) -> int:
        return x

    @command(registry=registry)
    async def coro(x: int) -> int:
        return x

    @command("gen", registry=registry)
    def gen(n: int) -> Iterator[int]:
        yield from range(n)

    @command("agen", registry=registry)
    async def agen(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    @command("listed", stream=True, registry=registry)
    def listed() -> list[int]:
        return [1, 2]

    kinds = {name: (registry.get(name).is_async, registry.get(name).stream) for name in registry.names()}
    assert kinds == {
        "plain": (False, False),
        "coro": (True, False),
        "gen": (False, True),
        "agen": (True, True),
        "listed": (False, True),
    }
    assert plain(3) == 3  # the decorator returns the function unchanged


def test_bind_reports_bad_arguments_by_name() -> None:
    registry = Registry()
    registry.add("add", lambda a, b=1: a + b)
    cmd = registry.get("add")
    assert cmd.bind({"a": 1}) == {"a": 1}
    with pytest.raises(BadArguments, match="missing a required argument: 'a'"):
        cmd.bind({})
    with pytest.raises(BadArguments, match="unexpected keyword argument 'c'"):
        cmd.bind({"a": 1, "c": 2})
    with pytest.raises(BadArguments, match="must be strings"):
        cmd.bind({1: 2})


def test_unknown_command_has_a_stable_type() -> None:
    with pytest.raises(UnknownCommand) as caught:
        Registry().get("nope")
    assert caught.value.type == "UnknownCommand"


def test_duplicate_names_are_refused_unless_replace() -> None:
    registry = Registry()

    def first() -> int:
        return 1

    def second() -> int:
        return 2

    registry.add("x", first)
    registry.add("x", first)  # re-registering the same function (a module imported twice) is fine
    with pytest.raises(ValueError, match="already registered"):
        registry.add("x", second)
    registry.add("x", second, replace=True)
    assert registry.get("x").fn() == 2


def test_loading_command_modules_registers_their_commands() -> None:
    load_command_modules(["bridge_test_commands", "dspex_bridge.commands.core", "dspex_bridge.commands.programs"])
    for name in ("add", "count", "ping", "info", "create", "save"):
        assert name in REGISTRY
    with pytest.raises(CommandModuleError) as failed:
        load_command_modules(["no_such_module_for_dspex"])
    assert failed.value.module == "no_such_module_for_dspex"
    assert isinstance(failed.value.__cause__, ModuleNotFoundError)


def test_prediction_like_objects_flatten_to_their_fields() -> None:
    import dspy

    from dspex_bridge.wire import to_wire

    single = dspy.Prediction(answer="4")
    assert to_wire(single) == {"answer": "4"}
    several = dspy.Prediction.from_completions([{"answer": "4"}, {"answer": "four"}])
    assert to_wire(several) == {"answer": "4", "completions": [{"answer": "4"}, {"answer": "four"}]}
    assert to_wire(dspy.Example(q="x", a=1).with_inputs("q")) == {"q": "x", "a": 1}


def test_unknown_objects_become_handles_only_with_a_session() -> None:
    from dspex_bridge.errors import Unserializable
    from dspex_bridge.session import Session
    from dspex_bridge.wire import resolve_refs, to_wire

    import dspy

    from dspex_bridge.errors import NotAllowed

    session = Session("s", host=None)
    thing: Any = dspy.Predict("q -> a")
    ref = to_wire({"x": thing}, session)["x"]
    assert ref["class"] == "dspy.predict.predict.Predict"
    assert resolve_refs({"again": ref}, session)["again"] is thing
    with pytest.raises(Unserializable):
        to_wire(thing)
    with pytest.raises(NotAllowed, match="builtins.object"):  # only objects of granted types become handles
        to_wire(object(), session)
