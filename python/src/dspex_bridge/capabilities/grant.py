"""The pool's grant: which Python classes Node may build, call, compile and hold, with which arguments, and
where files may go. Default-deny: a class is granted only by an entry in a table.

Built once per worker from its flags. Without `--allow` the grant is the default table (table.py). `--allow`
replaces it with the operator's glob patterns over classes' real homes (`dspy.*` grants all of DSPy: broad);
a matched class the table lists keeps the table's entry, any other is the operator's own and its arguments
are the operator's responsibility. `--grant` (python.grant) adds entries with their own argument tables. The
bridge table (objects the bridge's own commands keep for Node, such as an Optuna study) is in every grant.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import json
import os
import re
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..allowlist import AllowList
from ..errors import BadArguments, NotAllowed
from .kinds import KINDS, VALUE, Arguments, Kind, Use
from .signatures import check_signature_string
from .table import BRIDGE_TABLE, DEFAULT_TABLE, MODULE_CALL, ClassGrant

if TYPE_CHECKING:
    from ..session import Session

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
#: Everything an operator's own class may be given: its arguments are the operator's responsibility.
OPEN = Arguments(open=True)

_NOT_HANDLES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (type, "a class"),
    (types.ModuleType, "a module"),
    ((types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.BuiltinMethodType), "a function"),
    ((types.CodeType, types.FrameType, types.TracebackType), "an interpreter object"),
)
_HOW_TO_GRANT = ("the default grant is the table in python/README.md 'Security model'; the pool's operator "
                 "grants more with python.allow (--allow) or python.grant (--grant)")


def qualified_name(cls: type) -> str:
    return f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', '?')}"


def import_class(path: str) -> type:
    """A class named by a trusted table or operator (the module part is imported)."""
    module, _, name = path.rpartition(".")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    if not inspect.isclass(obj):
        raise TypeError(f"{path} is not a class")
    return obj


def _operator_entry(cls: type) -> ClassGrant:
    from dspy.primitives.base_module import BaseModule

    is_module = issubclass(cls, BaseModule)
    has_compile = not is_module and callable(getattr(cls, "compile", None))
    return ClassGrant(construct=OPEN, call=OPEN if is_module else None, compile=OPEN if has_compile else None,
                      annotation=True)


def _arguments(spec: Any, where: str, *, module_call: bool = False) -> Arguments | None:
    """One python.grant argument table: true (open; for `call`, a module's input fields), a list of names
    (plain data) or a map of name -> kind."""
    if spec is None or spec is False:
        return None
    if spec is True:
        return MODULE_CALL if module_call else OPEN
    if isinstance(spec, list) and all(isinstance(n, str) for n in spec):
        return Arguments(named={name: KINDS["data"] for name in spec})
    if isinstance(spec, dict):
        named: dict[str, Kind] = {}
        for name, kind in spec.items():
            if kind not in KINDS:
                raise BadArguments(f"grant {where}: argument {name!r} has unknown kind {kind!r}; "
                                   f"kinds: {', '.join(KINDS)}")
            named[name] = KINDS[kind]
        return Arguments(named=named)
    raise BadArguments(f"grant {where}: expected true, a list of argument names or a map name -> kind")


def parse_entries(spec: str | Mapping[str, Any] | None) -> dict[str, ClassGrant]:
    """python.grant as passed to --grant: {"pkg.Class": {"construct", "positional", "call", "compile",
    "propose", "hold", "annotation"}}."""
    if spec is None:
        return {}
    table = json.loads(spec) if isinstance(spec, str) else spec
    if not isinstance(table, dict):
        raise BadArguments("grant: expected a map of class path -> entry")
    entries: dict[str, ClassGrant] = {}
    for path, entry in table.items():
        if not isinstance(path, str) or not _PATH.match(path) or any(p.startswith("_") for p in path.split(".")):
            raise BadArguments(f"grant {path!r}: a key is the dotted path of a public class, like 'mypkg.Scorer'")
        if not isinstance(entry, dict) or set(entry) - {"construct", "positional", "call", "compile", "propose",
                                                        "hold", "annotation"}:
            raise BadArguments(f"grant {path!r}: an entry is a map of construct, positional, call, compile, "
                               "propose, hold, annotation")
        for flag in ("hold", "annotation"):
            if flag in entry and not isinstance(entry[flag], bool):
                raise BadArguments(f"grant {path}.{flag}: expected true or false, not {entry[flag]!r}")
        raw_positional = entry.get("positional") or []
        if not isinstance(raw_positional, list) or not all(isinstance(n, str) for n in raw_positional):
            raise BadArguments(f"grant {path}.positional: expected a list of argument names")
        construct = _arguments(entry.get("construct"), f"{path}.construct")
        positional = tuple(raw_positional)
        if positional and construct is None:
            raise BadArguments(f"grant {path}.positional: names construct arguments, but the entry grants no construct")
        if construct is not None and positional:
            construct = Arguments(named=construct.named, positional=positional, rest=construct.rest)
        entries[path] = ClassGrant(
            construct=construct,
            call=_arguments(entry.get("call"), f"{path}.call", module_call=True),
            compile=_arguments(entry.get("compile"), f"{path}.compile"),
            propose=_arguments(entry.get("propose"), f"{path}.propose"),
            hold=bool(entry.get("hold", True)),
            annotation=bool(entry.get("annotation", False)),
        )
    return entries


class Grant(AllowList):
    """What Node may reach: classes (by table entry or operator pattern), handles, calls, files."""

    def __init__(
        self,
        patterns: Iterable[str] | None = None,
        *,
        entries: Mapping[str, ClassGrant] | None = None,
        save_dir: str | os.PathLike[str] | None = None,
        allow_pickle: bool = False,
    ) -> None:
        #: The operator's glob patterns, or None for the default table.
        self.operator_patterns = None if patterns is None else tuple(p.strip() for p in patterns if p.strip())
        self.table: dict[str, ClassGrant] = {**BRIDGE_TABLE, **(DEFAULT_TABLE if patterns is None else {})}
        self.extra: dict[str, ClassGrant] = dict(entries or {})
        super().__init__(self.operator_patterns if patterns is not None else sorted({**self.table, **self.extra}))
        self.save_dir = Path(os.path.realpath(save_dir)) if save_dir else None
        self.allow_pickle = allow_pickle
        self._entries: dict[type, ClassGrant] | None = None
        self._exact: set[type] | None = None
        self._covered: dict[str, bool] = {}

    @classmethod
    def parse(cls, spec: str | None, save_dir: str | None = None, allow_pickle: bool = False,  # type: ignore[override]
              grant: str | None = None) -> Grant:
        """From the worker's flags: --allow (comma-separated globs; None: the default table), --save-dir,
        --allow-pickle, --grant (JSON entries)."""
        patterns = None if spec is None else spec.split(",")
        return cls(patterns, entries=parse_entries(grant), save_dir=save_dir, allow_pickle=allow_pickle)

    @classmethod
    def of(cls, allow: AllowList | None) -> Grant:
        """The grant behind a worker's `allow`: a Grant as is; a plain AllowList grants its patterns, and one
        without patterns (a Server's default) is the default table."""
        if isinstance(allow, Grant):
            return allow
        if allow is None or not allow.patterns:
            return _default_grant()
        return cls(allow.patterns)

    # -- entries ---------------------------------------------------------------------------------------------
    def _resolved(self) -> dict[type, ClassGrant]:
        if self._entries is None:
            found: dict[type, ClassGrant] = {}
            for path, entry in self.table.items():
                found[import_class(path)] = entry
            for path, entry in self.extra.items():  # the operator's entries win over the table's
                try:
                    found[import_class(path)] = entry
                except (ImportError, AttributeError, TypeError) as exc:
                    raise BadArguments(f"grant names {path!r}, which is not an importable class: {exc}") from None
            self._entries = found
        return self._entries

    def entry(self, cls: Any) -> ClassGrant | None:
        """What Node may do with `cls`, judged on the class object itself (its real home), or None."""
        if not isinstance(cls, type):
            return None
        if "<locals>" in cls.__qualname__ or any(part.startswith("_") for part in cls.__qualname__.split(".")):
            return None
        found = self._resolved().get(cls)
        if found is not None or self.operator_patterns is None:
            return found
        qualified = qualified_name(cls)
        if any(fnmatch.fnmatchcase(qualified, p) for p in self.operator_patterns) or cls in self._exact_classes():
            return _table_entries().get(cls) or _operator_entry(cls)
        return None

    def _exact_classes(self) -> set[type]:
        if self._exact is None:
            found: set[type] = set()
            for pattern in self.operator_patterns or ():
                if not any(ch in pattern for ch in "*?["):
                    try:
                        found.add(AllowList([pattern]).resolve_class(pattern))
                    except Exception:  # noqa: BLE001 - a pattern naming no class grants nothing
                        pass
            self._exact = found
        return self._exact

    def grants_type(self, cls: Any) -> bool:
        """Whether objects of `cls` may be held by Node."""
        found = self.entry(cls)
        return found is not None and found.hold

    # -- paths Node types ------------------------------------------------------------------------------------
    def resolve(self, path: Any) -> tuple[type, ClassGrant]:
        """The class a dotted path names and its entry; NotAllowed unless it is granted. Paths under an operator
        pattern are imported; any other path is only walked (getattr) from a package the grant's entries live
        in, so a caller's path never imports a module."""
        if not isinstance(path, str) or not _PATH.match(path):
            raise NotAllowed(f"{path!r} is not a dotted class path like 'dspy.Predict'")
        parts = path.split(".")
        if any(part.startswith("_") for part in parts):
            raise NotAllowed(f"{path!r} names a private attribute")
        if self.operator_patterns is not None and self.allows(path):
            cls = super().resolve_class(path)
        else:
            cls = self._walk(path, parts)
        found = self.entry(cls)
        if found is None:
            raise NotAllowed(f"{path!r} resolves to {qualified_name(cls)}, which this pool does not grant; "
                             f"{_HOW_TO_GRANT}")
        return cls, found

    def _walk(self, path: str, parts: list[str]) -> type:
        packages = {qualified_name(cls).split(".")[0] for cls in self._resolved()}
        obj: Any = sys.modules.get(parts[0]) if parts[0] in packages else None
        if obj is None:
            raise NotAllowed(f"{path!r} is not granted: {_HOW_TO_GRANT}")
        for index, part in enumerate(parts[1:], start=1):
            if not (inspect.ismodule(obj) or inspect.isclass(obj)):
                raise NotAllowed(f"{path!r} is not granted: {'.'.join(parts[:index])!r} is not a module or class "
                                 f"the grant reaches ({_HOW_TO_GRANT})")
            obj = getattr(obj, part, None)
        if not inspect.isclass(obj):
            raise NotAllowed(f"{path!r} is not granted: it names no class ({_HOW_TO_GRANT})")
        return obj

    def resolve_class(self, path: str) -> type:
        return self.resolve(path)[0]

    def covers_class_path(self, path: str) -> bool:
        """Whether a dotted name in a type annotation names a class a signature may use (cached; never raises)."""
        known = self._covered.get(path)
        if known is None:
            try:
                known = self.resolve(path)[1].annotation
            except Exception:  # noqa: BLE001 - anything that does not resolve cleanly is simply not covered
                known = False
            self._covered[path] = known
        return known

    # -- handles and calls -----------------------------------------------------------------------------------
    def check_handle(self, obj: Any) -> None:
        """Refuses to hand Node a handle to `obj` unless its class's entry lets Node hold it."""
        for kinds, what in _NOT_HANDLES:
            if isinstance(obj, kinds):
                name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
                raise NotAllowed(f"{what} ({name}) is never handed to Node; only objects of granted types are")
        if not self.grants_type(type(obj)):
            raise NotAllowed(f"an object of type {qualified_name(type(obj))} is not granted to Node ({_HOW_TO_GRANT});"
                             " return it as plain data instead")

    def check_callable(self, obj: Any) -> None:
        """Refuses unless `obj` is a DSPy module whose entry lets `call` run it (what save, load, evaluate and
        optimize work on)."""
        from dspy.primitives.base_module import BaseModule

        found = self.entry(type(obj))
        if not isinstance(obj, BaseModule) or found is None or found.call is None:
            raise NotAllowed(f"calling a {qualified_name(type(obj))} is not granted: `call` runs granted DSPy "
                             "modules only")

    def call_arguments(self, obj: Any) -> Arguments:
        """The argument table `call` runs `obj` with; NotAllowed when its entry grants no call."""
        found = self.entry(type(obj))
        if found is None or found.call is None:
            raise NotAllowed(f"calling a {qualified_name(type(obj))} is not granted: `call` runs granted DSPy "
                             "modules (and dspy.Evaluate) only")
        return found.call

    # -- arguments -------------------------------------------------------------------------------------------
    def bind(self, owner: type, arguments: Arguments, session: Session, args: list[Any] | None,
             kwargs: dict[str, Any] | None, *, purpose: str) -> tuple[list[Any], dict[str, Any]]:
        """Node arguments for `purpose` on `owner`: the signature grammar over every string, then the argument
        table (each granted name converted by its kind; any other name NotAllowed)."""
        if args is not None and not isinstance(args, list):
            raise BadArguments('"args" must be a list')
        if kwargs is not None and not isinstance(kwargs, dict):
            raise BadArguments('"kwargs" must be a map')
        args, kwargs = args or [], kwargs or {}
        self.check_arguments([args, kwargs])
        return arguments.bind(qualified_name(owner), self, session, args, kwargs, purpose=purpose)

    def check_arguments(self, value: Any) -> None:
        """Every signature-like string in a Node argument tree passes the signature grammar."""
        if isinstance(value, str):
            if "->" in value:
                check_signature_string(value, self.covers_class_path)
        elif isinstance(value, dict):
            for key, item in value.items():
                self.check_arguments(key)
                self.check_arguments(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                self.check_arguments(item)

    def resolve_value(self, value: Any, session: Session) -> Any:
        """A Node value that is not bound to a declared argument (a module's input field): grammar, then refs."""
        self.check_arguments(value)
        return VALUE(value, Use(self, session, "value"))

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


_DEFAULT: Grant | None = None
_TABLE_ENTRIES: dict[type, ClassGrant] | None = None


def _default_grant() -> Grant:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Grant()
    return _DEFAULT


def _table_entries() -> dict[type, ClassGrant]:
    """The default table by class (imported once)."""
    global _TABLE_ENTRIES
    if _TABLE_ENTRIES is None:
        _TABLE_ENTRIES = {import_class(path): entry for path, entry in DEFAULT_TABLE.items()}
    return _TABLE_ENTRIES
