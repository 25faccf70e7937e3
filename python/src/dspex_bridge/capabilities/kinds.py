"""What a Node argument may be, by kind, and the argument tables that give each granted argument its kind.

A kind checks a raw wire value and turns it into the Python value the class receives: plain data stays data,
a signature string passes the grammar, `{"$handle"}` becomes a granted module, `{"$lm": spec}` an LM built from
the LM spec, a path is placed inside the save directory. An `Arguments` table binds a call's positional and
keyword arguments to names and refuses any name it does not list, naming the class and how to grant it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..errors import BadArguments, NotAllowed

if TYPE_CHECKING:
    from ..session import Session
    from .grant import Grant


@dataclass(frozen=True)
class Use:
    """Where a value is being checked: the grant, the caller's session, and a label for messages."""

    grant: Grant
    session: Session
    what: str


@dataclass(frozen=True)
class Kind:
    """One kind of argument: its name (as written in python.grant) and the check that converts a wire value."""

    name: str
    description: str
    convert: Callable[[Any, Use], Any] = field(repr=False, compare=False)

    def __call__(self, value: Any, use: Use) -> Any:
        return self.convert(value, use)


def _is_ref(value: Any) -> bool:
    return isinstance(value, dict) and any(key in value for key in ("$handle", "$tool", "$lm"))


def _data(value: Any, use: Use) -> Any:
    # Decoded wire values are data by construction; a reference inside data is refused, not resolved.
    if isinstance(value, dict):
        if _is_ref(value):
            raise NotAllowed(f"{use.what} is plain data; a {sorted(value)[0]} reference is not accepted here")
        return {key: _data(item, use) for key, item in value.items()}
    if isinstance(value, list):
        return [_data(item, use) for item in value]
    return value


def _value(value: Any, use: Use) -> Any:
    from ..wire import resolve_refs

    return resolve_refs(value, use.session)


def _signature(value: Any, use: Use) -> Any:
    from .signatures import check_signature_string

    if not isinstance(value, str):
        raise NotAllowed(f"{use.what} is a signature string such as 'question -> answer'")
    check_signature_string(value, use.grant.covers_class_path)
    return value


def _handle(value: Any, use: Use) -> Any:
    if not (isinstance(value, dict) and "$handle" in value and set(value) <= {"$handle", "class"}):
        raise NotAllowed(f"{use.what} is a handle ({{'$handle': h}}) of an object this session holds")
    return use.session.get(value["$handle"])


def _module(value: Any, use: Use) -> Any:
    from .grant import qualified_name

    module = _handle(value, use)
    try:
        use.grant.check_callable(module)
    except NotAllowed:
        raise NotAllowed(f"{use.what} must be a handle of a granted DSPy module, not a "
                         f"{qualified_name(type(module))}") from None
    return module


def _modules(value: Any, use: Use) -> Any:
    if not isinstance(value, list):
        raise NotAllowed(f"{use.what} is a list of module handles")
    return [_module(item, use) for item in value]


def _lm(value: Any, use: Use) -> Any:
    from dspy.clients.base_lm import BaseLM

    from ..lm import build_lm

    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"$lm"}:
        return build_lm(value["$lm"])
    held = _handle(value, use)
    if not isinstance(held, BaseLM):
        raise NotAllowed(f"{use.what} is an LM: {{'$lm': spec}}, an LM handle, or None")
    return held


#: The LM request options a caller may set (a predictor's `config`, Predict's keyword arguments, an LM spec's
#: `kwargs`). Anything else is refused: `api_base`/`base_url` would send the configured key elsewhere, and
#: LiteLLM imports `callbacks`/`success_callback` integrations by name.
LM_REQUEST_OPTIONS: tuple[str, ...] = (
    "temperature", "max_tokens", "max_completion_tokens", "top_p", "n", "stop", "seed", "presence_penalty",
    "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "response_format", "reasoning_effort",
    "rollout_id", "timeout",
)


def _lm_options(value: Any, use: Use) -> Any:
    if not isinstance(value, dict):
        raise NotAllowed(f"{use.what} is a map of LM options ({', '.join(LM_REQUEST_OPTIONS)})")
    for key in value:
        if key not in LM_REQUEST_OPTIONS:
            raise NotAllowed(f"{use.what}: LM option {key!r} is not granted; the granted ones are "
                             f"{', '.join(LM_REQUEST_OPTIONS)}")
    return _data(value, use)


def _tools(value: Any, use: Use) -> Any:
    from dspy.adapters.types.tool import Tool

    from ..wire import node_tool

    if not isinstance(value, list):
        raise NotAllowed(f"{use.what} is a list of Node tools ([{{'$tool': name}}, ...])")
    tools = []
    for item in value:
        if isinstance(item, dict) and set(item) == {"$tool"}:
            tools.append(node_tool(use.session, str(item["$tool"]), as_dspy=True))
        elif isinstance(held := _handle(item, use), Tool):
            tools.append(held)
        else:
            raise NotAllowed(f"{use.what}: each tool is {{'$tool': name}} (a Node tool) or a dspy.Tool handle")
    return tools


def _metric(value: Any, use: Use) -> Any:
    from ..commands.evaluation import resolve_metric

    if isinstance(value, dict) and set(value) == {"$tool"}:
        value = {"callback": value["$tool"]}
    return resolve_metric(value, use.session)


def _path(value: Any, use: Use) -> Any:
    if value is None:
        return None
    return str(use.grant.location(value, what=use.what))


def _examples(value: Any, use: Use) -> Any:
    import dspy

    if not isinstance(value, list):
        raise NotAllowed(f"{use.what} is a list of example maps or dspy.Example handles")
    examples = []
    for item in value:
        if isinstance(item, dict) and "$handle" in item:
            held = _handle(item, use)
            if not isinstance(held, dspy.Example):
                raise NotAllowed(f"{use.what}: a handle here must be a dspy.Example")
            examples.append(held)
        elif isinstance(item, dict):
            examples.append(dspy.Example(**_data(item, use)))
        else:
            raise NotAllowed(f"{use.what}: each example is a map or a dspy.Example handle")
    return examples


DATA = Kind("data", "plain data (strings, numbers, lists, maps); references are refused", _data)
VALUE = Kind("value", "a Node value: data, or references ($handle, $tool, $lm) to what the grant allows", _value)
SIGNATURE = Kind("signature", "a signature string, checked by the signature grammar", _signature)
MODULE = Kind("module", "a handle of a granted DSPy module", _module)
MODULES = Kind("modules", "a list of handles of granted DSPy modules", _modules)
LM = Kind("lm", "an LM: {'$lm': spec} (the LM spec table), an LM handle, or None", _lm)
LM_OPTIONS = Kind("lm_options", "a map of LM request options (temperature, max_tokens, n, ...)", _lm_options)
TOOLS = Kind("tools", "a list of Node tools {'$tool': name} or dspy.Tool handles", _tools)
METRIC = Kind("metric", "a builtin metric name, {'callback': tool} or {'$tool': name}", _metric)
PATH = Kind("path", "a path inside the pool's save directory (relative paths start there)", _path)
EXAMPLES = Kind("examples", "a list of example maps or dspy.Example handles", _examples)

def map_of(name: str, description: str, table: Arguments) -> Kind:
    """A nested map (GEPA-style `*_kwargs`, teacher_settings) granted key by key through its own table."""

    def convert(value: Any, use: Use) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise NotAllowed(f"{use.what} is a map ({description})")
        return table.bind(use.what, use.grant, use.session, [], value, purpose=name)[1]

    return Kind(name, description, convert)


KINDS: dict[str, Kind] = {kind.name: kind for kind in
                          (DATA, VALUE, SIGNATURE, MODULE, MODULES, LM, LM_OPTIONS, TOOLS, METRIC, PATH, EXAMPLES)}


@dataclass(frozen=True)
class Arguments:
    """An argument table: the granted names with their kinds, the names positional arguments bind to, and the
    kind of any other name (`rest`: a module's input fields, an Example's fields); `open` passes everything
    (an operator's own class: its arguments are the operator's responsibility)."""

    named: Mapping[str, Kind] = field(default_factory=dict)
    positional: tuple[str, ...] = ()
    rest: Kind | None = None
    open: bool = False

    def bind(self, owner: str, grant: Grant, session: Session, args: list[Any], kwargs: dict[str, Any],
             *, purpose: str) -> tuple[list[Any], dict[str, Any]]:
        """(args, kwargs) to call with, each value converted by its kind; NotAllowed for an ungranted name."""
        if self.open:
            resolve = _value
            use = Use(grant, session, f"{owner} argument")
            return [resolve(a, use) for a in args], {k: resolve(v, use) for k, v in kwargs.items()}
        if len(args) > len(self.positional):
            shown = ", ".join(self.positional) or "none"
            raise NotAllowed(f"{owner}: {purpose} takes at most {len(self.positional)} positional arguments "
                             f"({shown}); pass the others by name")
        named = dict(zip(self.positional, args))
        for name, value in kwargs.items():
            if name in named:
                raise BadArguments(f"{owner}: {purpose} got two values for {name!r}")
            named[name] = value
        bound: dict[str, Any] = {}
        for name, value in named.items():
            kind = self.named.get(name, self.rest)
            if kind is None:
                raise NotAllowed(self.refusal(owner, name, purpose))
            bound[name] = kind(value, Use(grant, session, f"{owner} argument {name!r}"))
        return [], bound

    def refusal(self, owner: str, name: Any, purpose: str) -> str:
        granted = ", ".join(sorted(self.named)) or "none"
        return (f"{owner}: argument {name!r} is not granted for {purpose} (granted: {granted}). To grant it, "
                f"give the pool python.grant {{'{owner}': {{...}}}} naming it with its kind; see 'Security model'")

    def declares(self, name: str) -> bool:
        return self.open or name in self.named
