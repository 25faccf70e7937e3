"""Resolving an operator's glob patterns (`--allow`) to classes by dotted path: importlib + getattr, never eval.

A path must match one of the patterns, contain no private segment, walk only through modules and classes, end
at a class, and that class must really live in the same top-level package (so `dspy.some_module.subprocess.Popen`
is refused even though `dspy.*` matches it). An AllowList without patterns grants nothing by itself; the
worker's default grant is the table in capabilities/table.py.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import re
from typing import Any, Iterable

from .errors import NotAllowed

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class AllowList:
    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self.patterns = tuple(p.strip() for p in patterns if p.strip())

    @classmethod
    def parse(cls, spec: str | None) -> AllowList:
        """From the --allow flag: comma-separated globs; None means no patterns."""
        return cls(() if spec is None else spec.split(","))

    def allows(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in self.patterns)

    def check(self, path: str) -> list[str]:
        if not isinstance(path, str) or not _PATH.match(path):
            raise NotAllowed(f"{path!r} is not a dotted class path like 'dspy.Predict'")
        parts = path.split(".")
        if any(part.startswith("_") for part in parts):
            raise NotAllowed(f"{path!r} names a private attribute")
        if not self.allows(path):
            raise NotAllowed(f"{path!r} is not allowed; allowed patterns: {', '.join(self.patterns) or '(none)'}")
        return parts

    def resolve_class(self, path: str) -> type:
        parts = self.check(path)
        obj: Any = _import(parts[0], path)
        prefix = parts[0]
        for part in parts[1:]:
            if not (inspect.ismodule(obj) or inspect.isclass(obj)):
                raise NotAllowed(f"{path!r} walks through {prefix!r}, which is neither a module nor a class")
            prefix = f"{prefix}.{part}"
            if hasattr(obj, part):
                obj = getattr(obj, part)
            elif inspect.ismodule(obj):
                obj = _import(prefix, path)
            else:
                raise NotAllowed(f"{path!r}: {prefix!r} does not exist")
        if not inspect.isclass(obj):
            raise NotAllowed(f"{path!r} is not a class")
        home = (getattr(obj, "__module__", "") or "").split(".")[0]
        if home != parts[0]:
            raise NotAllowed(f"{path!r} resolves to {obj.__module__}.{obj.__qualname__}, outside package {parts[0]!r}")
        return obj


def _import(module: str, path: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            raise NotAllowed(f"{path!r}: no module or attribute {module!r}") from None
        raise
