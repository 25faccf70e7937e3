"""The grammar a signature string from Node must satisfy before DSPy parses it.

DSPy resolves a field's type annotation by importing any module it names (`x: os.system -> y` imports `os`),
by reading names from `typing`'s globals (`typing.sys` is the `sys` module) and from its callers' frames. So
every string a Node argument carries that DSPy could parse as a signature is checked here first: annotations
may only be the fixed typing/builtin names below, constants inside brackets, `|`, and dotted class paths the
pool's grant covers. Anything else is NotAllowed, naming the refused annotation.
"""

from __future__ import annotations

import ast
from typing import Callable

from ..errors import NotAllowed

#: Bare names an annotation may use: builtin scalar/container types and the typing forms DSPy understands.
BUILTIN_TYPES = frozenset(
    {"str", "int", "float", "bool", "bytes", "list", "dict", "tuple", "set", "frozenset", "complex", "NoneType"}
)
TYPING_NAMES = frozenset(
    {
        "Any", "List", "Dict", "Tuple", "Set", "FrozenSet", "Optional", "Union", "Literal", "Annotated",
        "Sequence", "Mapping", "Iterable", "Collection", "MutableMapping", "MutableSequence", "Type",
    }
)
ALLOWED_NAMES = BUILTIN_TYPES | TYPING_NAMES
_CONSTANT_TYPES = (str, int, float, bool, type(None))


def check_signature_string(text: str, class_covered: Callable[[str], bool]) -> None:
    """Refuses `text` if DSPy would resolve an annotation in it outside the grammar; harmless text passes.

    DSPy splits on the single `->` and parses each side as a `def f(<side>)` parameter list, resolving the
    annotations of the inputs before it even parses the outputs; a side that does not parse never resolves."""
    if text.count("->") != 1:
        return  # DSPy refuses it before resolving anything
    for side in text.split("->"):
        try:
            tree = ast.parse(f"def f({side}): pass")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        func = tree.body[0]
        if not isinstance(func, ast.FunctionDef):
            continue
        arguments = func.args
        params = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        params += [p for p in (arguments.vararg, arguments.kwarg) if p is not None]
        for param in params:
            if param.annotation is None:
                continue
            try:
                _check_annotation(param.annotation, class_covered, text, top=True)
            except RecursionError:
                raise NotAllowed(f"signature {text[:80]!r}...: its type annotations nest too deeply") from None


def _refuse(node: ast.AST, text: str, why: str) -> NotAllowed:
    try:
        shown = ast.unparse(node)
    except Exception:  # noqa: BLE001 - only for the message
        shown = type(node).__name__
    return NotAllowed(f"type annotation {shown!r} in signature {text!r} is not allowed: {why}")


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _check_annotation(node: ast.AST, class_covered: Callable[[str], bool], text: str, *, top: bool) -> None:
    if isinstance(node, ast.Name):
        if node.id not in ALLOWED_NAMES:
            raise _refuse(node, text, f"a bare name must be one of {', '.join(sorted(ALLOWED_NAMES))}")
        return
    if isinstance(node, ast.Attribute):
        path = _dotted(node)
        if path is None:
            raise _refuse(node, text, "only dotted names may be used as types")
        parts = path.split(".")
        if any(part.startswith("_") for part in parts):
            raise _refuse(node, text, "private and dunder names are never reachable")
        if parts[0] == "typing" and len(parts) == 2 and parts[1] in TYPING_NAMES:
            return
        if not class_covered(path):
            raise _refuse(node, text, "a dotted type must be a class the pool's grant covers (e.g. dspy.Image)")
        return
    if isinstance(node, ast.Subscript):
        _check_annotation(node.value, class_covered, text, top=False)
        elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        for element in elements:
            _check_annotation(element, class_covered, text, top=False)
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        _check_annotation(node.left, class_covered, text, top=False)
        _check_annotation(node.right, class_covered, text, top=False)
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, _CONSTANT_TYPES) and (not top or node.value is None):
        return  # Literal["a", 1] members, Annotated metadata, None
    raise _refuse(node, text, f"{type(node).__name__} nodes are outside the signature grammar")
