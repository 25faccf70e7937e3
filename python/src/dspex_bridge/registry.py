"""Command registry: the `@command` decorator and the table the worker dispatches calls through.

A command is any function; async functions run on the worker's event loop, sync ones in its thread pool.
A (sync or async) generator is a stream: each yield becomes a `chunk`, a sync generator's return value the
final `result`. An `ordered` command (close_session) runs on the event loop as its frame is read, before any later
frame: a barrier in the order Node sent them. An `inline` command (ping) runs on the worker's reader thread as its
frame is read, with no hand-off to the loop or the pool: the cheapest call there is, for commands that return in
microseconds.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from .errors import BadArguments, UnknownCommand

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Command:
    name: str
    fn: Callable[..., Any]
    stream: bool
    is_async: bool
    signature: inspect.Signature
    #: The function takes only **kwargs, so any string-keyed args bind (and Signature.bind can be skipped).
    takes_any: bool = False
    #: Runs on the loop thread when its frame is dispatched, so every later frame sees its effect. Short, sync,
    #: never blocking: it holds up the reading of every frame behind it.
    ordered: bool = False
    #: Runs on the reader thread as its frame is read (on the loop if earlier frames still wait there) and answers
    #: at once: no task, no thread hand-off. It must return in microseconds and never block or wait on Node (no
    #: tool callbacks): while it runs no other frame is read, and nothing can cancel it.
    inline: bool = False

    def bind(self, args: dict[Any, Any]) -> dict[str, Any]:
        """Checks the call's args against the function's parameters; BadArguments names what is wrong."""
        for key in args:  # a loop, not any(genexpr): this runs for every call
            if not isinstance(key, str):
                raise BadArguments(f"command {self.name!r}: argument names must be strings")
        if self.takes_any:
            return args
        try:
            self.signature.bind(**args)
        except TypeError as exc:
            raise BadArguments(f"command {self.name!r}: {exc}") from None
        return args


class Registry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._inline: dict[str, Command] = {}

    def add(
        self,
        name: str,
        fn: Callable[..., Any],
        *,
        stream: bool | None = None,
        replace: bool = False,
        ordered: bool = False,
        inline: bool = False,
    ) -> Command:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a command's name is a non-empty string, not {name!r}")
        if not callable(fn):
            raise TypeError(f"command {name!r}: @command decorates a function, not {fn!r}")
        existing = self._commands.get(name)
        if existing is not None and existing.fn is not fn and not replace:
            raise ValueError(f"command {name!r} is already registered by {existing.fn.__module__}")
        is_generator = inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)
        is_async = inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)
        if ordered and (is_async or is_generator or stream):
            raise ValueError(f"command {name!r}: an ordered command is a plain sync function (it runs inline)")
        if inline and (is_async or is_generator or stream or ordered):
            raise ValueError(f"command {name!r}: an inline command is a plain sync function, neither a stream nor ordered")
        signature = inspect.signature(fn)
        command = Command(
            name=name,
            fn=fn,
            stream=is_generator if stream is None else stream,
            is_async=is_async,
            signature=signature,
            takes_any=all(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()) and bool(signature.parameters),
            ordered=ordered,
            inline=inline,
        )
        self._commands[name] = command
        if inline:
            self._inline[name] = command
        else:
            self._inline.pop(name, None)
        return command

    def get(self, name: str) -> Command:
        try:
            return self._commands[name]
        except KeyError:
            raise UnknownCommand(f"no command named {name!r}; load its module with --commands") from None

    def inline_command(self, name: object) -> Command | None:
        """The command `name` if it is registered inline, else None (for the reader thread: one dict lookup)."""
        return self._inline.get(name) if isinstance(name, str) else None

    def names(self) -> list[str]:
        return sorted(self._commands)

    def defined_in(self, module: str) -> list[str]:
        """The names of the commands whose function was defined in `module`."""
        return sorted(name for name, command in self._commands.items() if getattr(command.fn, "__module__", None) == module)

    def __contains__(self, name: object) -> bool:
        return name in self._commands


REGISTRY = Registry()


def command(
    name: str | None = None,
    *,
    stream: bool | None = None,
    replace: bool = False,
    registry: Registry | None = None,
    ordered: bool = False,
    inline: bool = False,
) -> Callable[[F], F]:
    """Registers a function as a bridge command in the process-wide registry.

    `stream` defaults to whether the function is a generator; `stream=True` on a plain function streams the
    iterable it returns. `ordered=True`, `inline=True`: see Command.ordered and Command.inline.
    """

    def decorate(fn: F) -> F:
        (registry or REGISTRY).add(name or fn.__name__, fn, stream=stream, replace=replace, ordered=ordered, inline=inline)
        return fn

    return decorate


class CommandModuleError(Exception):
    """A command module failed to import: `module` names it; `__cause__` is what its import raised."""

    def __init__(self, module: str) -> None:
        super().__init__(f"command module {module!r} failed to import")
        self.module = module


def load_command_modules(modules: list[str]) -> None:
    """Imports each module; their `@command` decorators register on import. CommandModuleError (from what the
    import raised) names the first module that fails."""
    for module in modules:
        try:
            importlib.import_module(module)
        except BaseException as exc:  # noqa: BLE001 - SystemExit or KeyboardInterrupt in a module body too
            raise CommandModuleError(module) from exc
