"""What `get_attr` and `set_attr` may reach from a handle: a DSPy module's named parameters (sub-modules and
predictors), a predictor's `demos`, `signature`, `lm` and `config`, and a module's plain scalar settings.

A signature is read as plain data ({"signature", "instructions", "fields"}), never as the class it is; no
other object exposes attributes, and no private or dunder name is ever looked up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import BadArguments, NotAllowed
from .grant import Grant, qualified_name
from .kinds import DATA, LM, LM_OPTIONS, MODULE, SIGNATURE, Kind, Use

if TYPE_CHECKING:
    from ..session import Session

#: What a predictor (dspy.Predict) exposes besides its sub-modules, each written as the kind the table gives
#: the same argument of Predict (its per-call overrides); a named parameter is replaced by a granted module.
PREDICTOR_ATTRIBUTES: dict[str, Kind] = {"demos": DATA, "signature": SIGNATURE, "lm": LM, "config": LM_OPTIONS}
_SCALARS = (str, int, float, bool, type(None))


def _split(dotted: Any) -> list[str]:
    if not isinstance(dotted, str) or not dotted:
        raise BadArguments("attribute name must be a non-empty string such as 'predict.demos'")
    parts = dotted.split(".")
    for part in parts:
        if not part.isidentifier():
            raise NotAllowed(f"attribute {dotted!r}: {part!r} is not an attribute name")
        if part.startswith("_"):
            raise NotAllowed(f"attribute {dotted!r}: {part!r} is private; dunder and private names are never reachable")
    return parts


def _is_signature(value: Any) -> bool:
    from dspy.signatures.signature import Signature

    return isinstance(value, type) and issubclass(value, Signature)


def signature_data(signature: Any) -> dict[str, Any]:
    """A signature as plain data: its string form, instructions, and each field's name, role, prefix, desc, type."""
    fields = []
    for name, info in signature.fields.items():
        extra = info.json_schema_extra or {}
        fields.append({
            "name": name,
            "role": extra.get("__dspy_field_type"),
            "prefix": extra.get("prefix"),
            "description": extra.get("desc"),
            "type": getattr(info.annotation, "__name__", None) or str(info.annotation),
        })
    return {"signature": signature.signature, "instructions": signature.instructions, "fields": fields}


def exposed(obj: Any) -> dict[str, bool]:
    """The attributes `obj` exposes, each with whether it may be written; empty for anything but a module."""
    from dspy.predict.parameter import Parameter
    from dspy.primitives.base_module import BaseModule

    if not isinstance(obj, BaseModule):
        return {}
    names: dict[str, bool] = {}
    for name, value in vars(obj).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (BaseModule, Parameter)):
            names[name] = True  # a named parameter: replaceable by another granted module
        elif _is_signature(value):
            names[name] = isinstance(obj, Parameter)
        elif isinstance(value, _SCALARS):
            names[name] = False
    if isinstance(obj, Parameter):
        names.update(dict.fromkeys(PREDICTOR_ATTRIBUTES, True))
    return names


def _step(obj: Any, part: str, dotted: str) -> Any:
    if isinstance(obj, dict) and "instructions" in obj and "fields" in obj:  # signature data
        if part not in obj:
            raise NotAllowed(f"attribute {dotted!r}: a signature exposes only {sorted(obj)}")
        return obj[part]
    names = exposed(obj)
    if part not in names:
        shown = ", ".join(sorted(names)) or "nothing"
        raise NotAllowed(f"attribute {dotted!r}: {part!r} is not exposed by {qualified_name(type(obj))} "
                         f"(it exposes {shown})")
    value = getattr(obj, part)
    return signature_data(value) if _is_signature(value) else value


def read_attribute(obj: Any, dotted: Any) -> Any:
    """The value at `dotted` from `obj`, walking only through exposed attributes."""
    parts = _split(dotted)
    for part in parts:
        obj = _step(obj, part, dotted)
    return obj


def write_attribute(grant: Grant, session: Session, obj: Any, dotted: Any, value: Any) -> None:
    """Sets `dotted` on `obj` from a raw Node value, converted by the attribute's kind (signatures are rebuilt
    from checked strings, LMs from the LM spec, modules must be granted ones)."""
    parts = _split(dotted)
    if parts[-2:] == ["signature", "instructions"] and len(parts) >= 2:
        owner = read_attribute(obj, ".".join(parts[:-2])) if len(parts) > 2 else obj
        if not exposed(owner).get("signature"):
            raise NotAllowed(f"attribute {dotted!r}: {qualified_name(type(owner))} has no writable signature")
        if not isinstance(value, str):
            raise BadArguments(f"{dotted}: instructions must be a string")
        owner.signature = owner.signature.with_instructions(value)
        return
    owner = read_attribute(obj, ".".join(parts[:-1])) if len(parts) > 1 else obj
    attr = parts[-1]
    writable = exposed(owner).get(attr)
    if not writable:
        state = "read-only" if writable is False else "not exposed"
        raise NotAllowed(f"attribute {dotted!r} of {qualified_name(type(owner))} is {state}")
    grant.check_arguments(value)
    from dspy.predict.parameter import Parameter

    kind = PREDICTOR_ATTRIBUTES[attr] if isinstance(owner, Parameter) and attr in PREDICTOR_ATTRIBUTES else MODULE
    checked = kind(value, Use(grant, session, f"attribute {dotted!r}"))
    if attr == "signature":
        from dspy.signatures.signature import ensure_signature

        checked = ensure_signature(checked)
    setattr(owner, attr, checked)
