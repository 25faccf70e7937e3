"""A worker's configuration, checked whole before it serves: the save directory (python.saveDir) exists, the grant
(python.allow, python.grant) parses and every class or module it names imports, every command module
(python.commands) imports and defines commands. A pool whose configuration is wrong must refuse to start, not serve
and fail later call by call (a typo in one grant entry failed every `create`), nor crash and be restarted forever.

The first wrong setting raises ConfigurationError naming it as Node does (`setting`, and the `entry` in it); the
worker reports it in a `fatal` StartupError frame (`startup_failure_frame`) and exits with code 2. Node turns that
into WorkerStartupFailed and does not start Python again for the pool.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import json
import os
import re
from typing import Any, Iterable, Sequence

from .allowlist import AllowList
from .capabilities import Grant, parse_entries
from .capabilities.grant import import_class
from .errors import BadArguments, ConfigurationError, NotAllowed, error_map
from .framing import encode_frame, write_all
from .registry import REGISTRY, Registry
from .wire import encode_default

#: Characters of a glob pattern (fnmatch) besides those of a dotted path.
_PATTERN = re.compile(r"^[A-Za-z0-9_.*?\[\]!]+$")
_GLOB = frozenset("*?[")


def build_grant(allow: str | None, grant: str | None, save_dir: str | None, allow_pickle: bool) -> Grant:
    """The worker's Grant from its flags, every part checked: ConfigurationError names the first that is wrong."""
    check_save_dir(save_dir, allow_pickle)
    patterns = None if allow is None else [p.strip() for p in allow.split(",") if p.strip()]
    check_allow(patterns or ())
    try:
        entries = parse_entries(grant)
    except json.JSONDecodeError as exc:
        raise ConfigurationError("python.grant", f"python.grant is not valid JSON ({exc})") from None
    except BadArguments as exc:
        raise ConfigurationError("python.grant", f"python.grant: {exc}") from None
    check_grant_classes(entries)
    return Grant(patterns, entries=entries, save_dir=save_dir, allow_pickle=allow_pickle)


def check_save_dir(save_dir: str | None, allow_pickle: bool = False) -> None:
    """python.saveDir must be an existing, readable directory; python.allowPickle means nothing without it."""
    if save_dir is None:
        if allow_pickle:
            raise ConfigurationError("python.allowPickle", "python.allowPickle is set but python.saveDir is not, so no "
                                     "call may name a .pkl file (nor any file)")
        return
    if not os.path.exists(save_dir):
        raise ConfigurationError("python.saveDir", f"python.saveDir {save_dir!r} does not exist", entry=save_dir)
    if not os.path.isdir(save_dir):
        raise ConfigurationError("python.saveDir", f"python.saveDir {save_dir!r} is not a directory", entry=save_dir)
    if not os.access(save_dir, os.R_OK | os.X_OK):
        raise ConfigurationError("python.saveDir", f"python.saveDir {save_dir!r} is not readable by the worker",
                                 entry=save_dir)


def check_allow(patterns: Iterable[str]) -> None:
    """Each python.allow pattern is a dotted glob. One without wildcards must name a class the workers can import
    (with its real home in the package it names); for one with wildcards, the modules before the first wildcard
    (`mypkg.models` of `mypkg.models.*`) must import. A pattern that names nothing grants nothing, silently: a
    typo would be found only when a `create` is refused."""
    for pattern in patterns:
        parts = pattern.split(".")
        if not _PATTERN.match(pattern) or "" in parts or any(part.startswith("_") for part in parts):
            raise ConfigurationError("python.allow", f"python.allow pattern {pattern!r} is not a dotted class path or "
                                     "glob over public names, like 'mypkg.Scorer' or 'mypkg.models.*'", entry=pattern)
        literal = list(itertools.takewhile(lambda part: not (_GLOB & set(part)), parts))
        if len(literal) == len(parts):
            if len(parts) < 2:
                raise ConfigurationError("python.allow", f"python.allow pattern {pattern!r} names a module, not a "
                                         f"class: grant its classes with '{pattern}.*' or name one", entry=pattern)
            try:
                AllowList([pattern]).resolve_class(pattern)
            except NotAllowed as exc:
                raise ConfigurationError("python.allow", f"python.allow names {pattern!r}, which is no class the "
                                         f"workers can import: {exc}", entry=pattern) from None
            except BaseException as exc:  # noqa: BLE001 - the module named raised on import
                raise ConfigurationError("python.allow", f"python.allow names {pattern!r}, whose module raised on "
                                         f"import: {type(exc).__name__}: {exc}", entry=pattern) from exc
        elif literal:
            _check_prefix(pattern, literal)


def _check_prefix(pattern: str, literal: Sequence[str]) -> None:
    """The modules (or classes) before the first wildcard of `pattern` import: walked as AllowList walks a path."""
    obj: Any = None
    for index, part in enumerate(literal):
        prefix = ".".join(literal[: index + 1])
        try:
            if index == 0:
                obj = importlib.import_module(part)
            elif hasattr(obj, part):
                obj = getattr(obj, part)
            elif inspect.ismodule(obj):
                obj = importlib.import_module(prefix)
            else:
                raise AttributeError(f"{'.'.join(literal[:index])!r} has no attribute {part!r}")
        except ModuleNotFoundError as exc:
            raise ConfigurationError("python.allow", f"python.allow pattern {pattern!r} starts with {prefix!r}, which "
                                     f"the workers cannot import: {exc}", entry=pattern) from None
        except BaseException as exc:  # noqa: BLE001 - a module that raises on import, or a missing attribute
            raise ConfigurationError("python.allow", f"python.allow pattern {pattern!r} starts with {prefix!r}, which "
                                     f"failed to load: {type(exc).__name__}: {exc}", entry=pattern) from exc
        if not (inspect.ismodule(obj) or inspect.isclass(obj)):
            raise ConfigurationError("python.allow", f"python.allow pattern {pattern!r} starts with {prefix!r}, which is "
                                     "neither a module nor a class", entry=pattern)


def check_grant_classes(entries: Iterable[str]) -> None:
    """Each class python.grant names imports (else every `create` of the pool would fail: the grant resolves its
    entries together, at the first use)."""
    for path in entries:
        try:
            import_class(path)
        except BaseException as exc:  # noqa: BLE001 - ImportError, AttributeError, TypeError, or the module's own
            raise ConfigurationError("python.grant", f"python.grant names {path!r}, which is not a class the workers "
                                     f"can import: {type(exc).__name__}: {exc}", entry=path) from exc


def load_commands(builtin: Sequence[str], operator: Sequence[str], registry: Registry = REGISTRY) -> None:
    """Imports the bridge's command modules, then the operator's (python.commands), whose `@command` functions
    register on import. ConfigurationError: a module that fails to import (`python.executable` for the bridge's
    own: its environment is broken), or an operator's module that defines no command (a package whose commands sit
    in a submodule, a misspelt module that happens to exist)."""
    for module in [*builtin, *operator]:
        setting = "python.executable" if module in builtin else "python.commands"
        before = set(registry.names())
        try:
            importlib.import_module(module)
        except BaseException as exc:  # noqa: BLE001 - SystemExit or KeyboardInterrupt in a module body too
            what = f"the bridge's module {module!r}" if module in builtin else f"python.commands module {module!r}"
            raise ConfigurationError(setting, f"{what} failed to import: {type(exc).__name__}: {exc}",
                                     entry=module) from exc
        if module in builtin:
            continue
        added = set(registry.names()) - before
        if not added and not registry.defined_in(module):
            raise ConfigurationError("python.commands", f"python.commands module {module!r} imported, but defines no "
                                     "command (no @command function in it); name the module whose functions carry "
                                     "@command", entry=module)


def startup_failure_frame(exc: BaseException) -> dict[str, Any]:
    """The error map of the `fatal` frame reporting why the worker cannot start: type StartupError; `message` the
    problem in full, naming the `setting` (and the `entry` in it) of a ConfigurationError; `python_type`,
    `python_message` and `traceback` those of what Python raised (an import's), if anything did; `module` the
    command module that failed, as before `setting` existed."""
    config = exc if isinstance(exc, ConfigurationError) else None
    cause = exc.__cause__ if config is not None and exc.__cause__ is not None else exc
    raised = error_map(cause)
    error: dict[str, Any] = {
        "type": "StartupError",
        "python_type": raised["type"],
        "python_message": raised["message"],
        "message": error_map(exc)["message"] if config is not None else f"{raised['type']}: {raised['message']}",
        # A check of ours that failed on its own: no Python trace says more than its message.
        "traceback": "" if cause is config else raised["traceback"],
    }
    if config is not None:
        error["setting"] = config.setting
        if config.entry is not None:
            error["entry"] = config.entry
        if config.setting in ("python.commands", "python.executable") and config.entry is not None:
            error["module"] = config.entry
    return error


def report_startup_failure(out_fd: int, exc: BaseException) -> None:
    """Writes the `fatal` frame of `exc` (startup_failure_frame) on the output fd, at once: the worker exits next."""
    frame = encode_frame({"t": "fatal", "error": startup_failure_frame(exc)}, 1 << 32, default=encode_default)
    try:
        write_all(out_fd, frame)
    except OSError:
        pass  # Node is gone; the exit code and stderr still tell


__all__ = ["build_grant", "check_allow", "check_grant_classes", "check_save_dir", "load_commands", "report_startup_failure",
           "startup_failure_frame"]
