"""The pool's grant: which Python types Node may hold handles to, call, and build, and where files may go.

Built once per worker from its flags (`--allow`, `--save-dir`, `--allow-pickle`). A type is granted when its
real home (`__module__.__qualname__`, not the path a caller typed) matches a pattern, or it is the class an
exact pattern names; a few DSPy classes that leave the process's sandbox (start processes, write caches,
run fine-tuning jobs) are never granted, whatever the patterns say.
"""

from __future__ import annotations

import fnmatch
import inspect
import os
import re
import types
from pathlib import Path
from typing import Any, Iterable

from ..allowlist import DEFAULT_PATTERNS, AllowList
from ..errors import NotAllowed
from .signatures import check_signature_string

#: Never granted: each can start a process, write outside the save directory or ship data to a provider's
#: fine-tuning API when built from Node arguments (PythonInterpreter takes a `deno_command`).
DENIED_PATTERNS: tuple[str, ...] = (
    "dspy.primitives.python_interpreter.*",
    "dspy.clients.lm_local.*",
    "dspy.clients.lm_local_arbor.*",
    "dspy.clients.provider.*",
    "dspy.clients.openai.*",
    "dspy.clients.databricks.*",
    "dspy.clients.cache.*",
    "dspy.teleprompt.bootstrap_finetune.*",
    "dspy.teleprompt.grpo.*",
    "dspy.teleprompt.bettertogether.*",
    "dspy.dsp.utils.settings.*",
    "dspy.utils.mcp.*",
    "dspy.utils.langchain_tool.*",
)

#: Constructor arguments named like this are file system locations: they must lie in the save directory.
_PATH_ARGUMENT = re.compile(
    r"^(?:.*_)?(?:dir|dirs|path|paths|file|files|filename|filepath|directory|folder)$|^save_as_\w+$"
)
#: Arguments that switch on an integration, which imports its package and ships data to its service.
_INTEGRATION_ARGUMENT = re.compile(r"^(?:use_(?:wandb|mlflow|weave|langfuse)|(?:wandb|mlflow)_\w+)$")

_CALLBACK_KEY = re.compile(r"^_*(?:callbacks?|.*_callbacks?|logger_fn)$")

_NOT_HANDLES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (type, "a class"),
    (types.ModuleType, "a module"),
    ((types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.BuiltinMethodType), "a function"),
    ((types.CodeType, types.FrameType, types.TracebackType), "an interpreter object"),
)


def qualified_name(cls: type) -> str:
    return f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', '?')}"


class Grant(AllowList):
    """An AllowList (which classes `create` may build by path) plus what Node may do with what it holds."""

    def __init__(
        self,
        patterns: Iterable[str] = DEFAULT_PATTERNS,
        *,
        save_dir: str | os.PathLike[str] | None = None,
        allow_pickle: bool = False,
    ) -> None:
        super().__init__(patterns)
        self.save_dir = Path(os.path.realpath(save_dir)) if save_dir else None
        self.allow_pickle = allow_pickle
        self._exact: set[type] | None = None
        self._covered: dict[str, bool] = {}

    @classmethod
    def parse(cls, spec: str | None, save_dir: str | None = None, allow_pickle: bool = False) -> Grant:  # type: ignore[override]
        """From the worker's flags: comma-separated globs (None: the default), the save directory, pickle."""
        patterns = DEFAULT_PATTERNS if spec is None else spec.split(",")
        return cls(patterns, save_dir=save_dir, allow_pickle=allow_pickle)

    @classmethod
    def of(cls, allow: AllowList | None) -> Grant:
        """The grant behind a worker's `allow` (a plain AllowList grants its patterns, no files, no pickle)."""
        if isinstance(allow, Grant):
            return allow
        return cls(allow.patterns if allow is not None else DEFAULT_PATTERNS)

    # -- types -----------------------------------------------------------------------------------------------
    def denies(self, qualified: str) -> bool:
        return any(fnmatch.fnmatchcase(qualified, pattern) for pattern in DENIED_PATTERNS)

    def grants_type(self, cls: type) -> bool:
        """Whether objects of `cls` may be held by Node: judged on where the class really lives."""
        if not isinstance(cls, type):
            return False
        qualified = qualified_name(cls)
        if "<locals>" in qualified or any(part.startswith("_") for part in cls.__qualname__.split(".")):
            return False
        if self.denies(qualified):
            return False
        if any(fnmatch.fnmatchcase(qualified, pattern) for pattern in self.patterns):
            return True
        return cls in self._exact_classes()

    def _exact_classes(self) -> set[type]:
        if self._exact is None:
            found: set[type] = set()
            for pattern in self.patterns:
                if not any(ch in pattern for ch in "*?["):
                    try:
                        found.add(super().resolve_class(pattern))
                    except Exception:  # noqa: BLE001 - a pattern naming no class grants nothing
                        pass
            self._exact = found
        return self._exact

    def resolve_class(self, path: str) -> type:
        cls = super().resolve_class(path)
        if not self.grants_type(cls):
            raise NotAllowed(f"{path!r} resolves to {qualified_name(cls)}, which this pool never grants "
                             "(it can start processes or write files outside the save directory)")
        return cls

    def covers_class_path(self, path: str) -> bool:
        """Whether a dotted name in a type annotation names a granted class (cached; never raises)."""
        known = self._covered.get(path)
        if known is None:
            try:
                self.resolve_class(path)
                known = True
            except Exception:  # noqa: BLE001 - anything that does not resolve cleanly is simply not covered
                known = False
            self._covered[path] = known
        return known

    # -- handles and calls -----------------------------------------------------------------------------------
    def check_handle(self, obj: Any) -> None:
        """Refuses to hand Node a handle to `obj` unless it is an instance of a granted type."""
        for kinds, what in _NOT_HANDLES:
            if isinstance(obj, kinds):
                name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
                raise NotAllowed(f"{what} ({name}) is never handed to Node; only objects of granted types are")
        if not self.grants_type(type(obj)):
            raise NotAllowed(f"an object of type {qualified_name(type(obj))} is not granted to Node "
                             f"(granted: {', '.join(self.patterns) or '(none)'}); return it as plain data instead")

    def check_callable(self, obj: Any) -> None:
        """`call` runs DSPy modules of granted types, and nothing else."""
        from dspy.primitives.base_module import BaseModule

        if not isinstance(obj, BaseModule) or not self.grants_type(type(obj)):
            raise NotAllowed(f"calling a {qualified_name(type(obj))} is not granted: `call` runs DSPy modules only")

    # -- arguments -------------------------------------------------------------------------------------------
    def check_arguments(self, value: Any) -> None:
        """Every signature-like string in a Node argument tree passes the signature grammar, and no map in it
        hands LiteLLM callbacks (which it resolves by name, importing integrations)."""
        if isinstance(value, str):
            if "->" in value:
                check_signature_string(value, self.covers_class_path)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and _CALLBACK_KEY.match(key) and item not in (None, [], {}):
                    raise NotAllowed(f"argument {key!r}: callbacks cannot be given from Node (LiteLLM imports "
                                     "them by name); register a Node tool instead")
                self.check_arguments(key)
                self.check_arguments(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                self.check_arguments(item)

    def check_path_arguments(self, target: Any, args: list[Any], kwargs: dict[str, Any]) -> None:
        """Arguments of `target` (a class or method) named like paths must lie in the save directory."""
        try:
            signature = inspect.signature(target)
            bound = dict(signature.bind_partial(*args, **kwargs).arguments)
            for param in signature.parameters.values():  # **kwargs collected by name are checked by name
                if param.kind is inspect.Parameter.VAR_KEYWORD and isinstance(bound.get(param.name), dict):
                    bound.update(bound.pop(param.name))
        except (TypeError, ValueError):
            bound = dict(kwargs)
        self._check_named_values(bound)

    def _check_named_values(self, named: dict[Any, Any]) -> None:
        for name, value in named.items():
            if not isinstance(name, str):
                continue
            if _INTEGRATION_ARGUMENT.match(name) and value not in (None, False, {}, ""):
                raise NotAllowed(f"argument {name!r}: integrations (wandb, mlflow, ...) cannot be enabled from Node")
            if _PATH_ARGUMENT.match(name) and value not in (None, False):
                for item in value if isinstance(value, (list, tuple)) else [value]:
                    self.location(item, what=f"argument {name!r}")
            elif isinstance(value, dict):  # e.g. GEPA's gepa_kwargs={"run_dir": ...}
                self._check_named_values(value)

    def location(self, path: Any, *, what: str = "path") -> Path:
        """`path` (relative paths are taken from the save directory) as a real path inside the save directory."""
        if self.save_dir is None:
            raise NotAllowed(f"{what} {path!r}: this pool has no save directory, so no call may name a file. "
                             "Pass and keep state maps, or configure python.saveDir (--save-dir) on the pool")
        if not isinstance(path, (str, os.PathLike)):
            raise NotAllowed(f"{what} must be a path string inside the save directory, not {type(path).__name__}")
        raw = os.fspath(path)
        if ".." in Path(raw).parts or "\x00" in raw:
            raise NotAllowed(f"{what} {raw!r} climbs out with '..'; name a file inside {self.save_dir}")
        real = Path(os.path.realpath(self.save_dir / raw))
        if real != self.save_dir and self.save_dir not in real.parents:
            raise NotAllowed(f"{what} {raw!r} resolves to {real}, outside the save directory {self.save_dir}")
        return real
