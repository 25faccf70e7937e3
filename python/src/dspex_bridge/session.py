"""Sessions: the objects a session created (addressed by string handles), the Node tools registered for it,
and its LM. Python code calls a Node tool through `session.tool(name)`, a plain function usable as a dspy tool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from .context import CallContext, current_call_or_none
from .errors import Cancelled, UnknownHandle

_handle_ids = itertools.count(1)

_JSON_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list,
    "object": dict,
}


class CallbackHost(Protocol):
    """What a session needs from the worker to call Node: send a `callback` frame, get a future for its reply."""

    def start_callback(self, session_id: str | None, name: str, args: dict[str, Any]) -> concurrent.futures.Future[Any]:
        ...

    def on_loop_thread(self) -> bool:
        ...


@dataclass
class ToolSpec:
    """A Node tool as Node described it with `register_tools`: JSON-schema parameters of an object."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def properties(self) -> dict[str, Any]:
        props = self.parameters.get("properties") if self.parameters else None
        return dict(props) if isinstance(props, dict) else {}

    @property
    def required(self) -> list[str]:
        req = self.parameters.get("required") if self.parameters else None
        return list(req) if isinstance(req, list) else []


class Session:
    def __init__(self, session_id: str | None, host: CallbackHost | None) -> None:
        self.id = session_id
        self.host = host
        self.objects: dict[str, Any] = {}
        self.tools: dict[str, ToolSpec] = {}
        self.lm: Any | None = None
        self.adapter: Any | None = None
        self._lock = threading.Lock()

    # -- objects ---------------------------------------------------------------------------------------------
    def put(self, obj: Any) -> str:
        """Keeps `obj` for Node under a new handle; NotAllowed unless its type is one the pool grants."""
        from .capabilities import Grant

        Grant.of(getattr(self.host, "allow", None)).check_handle(obj)
        handle = f"h{next(_handle_ids)}"
        with self._lock:
            self.objects[handle] = obj
        return handle

    def get(self, handle: str) -> Any:
        try:
            return self.objects[handle]
        except (KeyError, TypeError):
            raise UnknownHandle(f"no object with handle {handle!r} in session {self.id!r}") from None

    def delete(self, handle: str) -> bool:
        with self._lock:
            return self.objects.pop(handle, None) is not None

    def clear(self) -> int:
        with self._lock:
            count = len(self.objects)
            self.objects.clear()
            self.tools.clear()
            self.lm = None
            self.adapter = None
        return count

    # -- Node tools ------------------------------------------------------------------------------------------
    def register_tool(self, spec: ToolSpec) -> None:
        self.tools[spec.name] = spec

    def call_tool(
        self,
        name: str,
        args: dict[str, Any] | None = None,
        timeout: float | None = None,
        ctx: CallContext | None = None,
    ) -> Any:
        """Calls a Node tool and blocks for its value. Only from sync code (a sync command's thread).
        `ctx` ties the wait to a call's cancellation; by default the current call, if any."""
        host = self._require_host()
        if host.on_loop_thread():
            raise RuntimeError("call_tool blocks; from an async command use `await session.acall_tool(...)`")
        future = host.start_callback(self.id, name, dict(args or {}))
        ctx = ctx or current_call_or_none()
        if ctx is not None:
            ctx.track_callback(future)
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.CancelledError:
            raise Cancelled(f"callback {name!r} was cancelled") from None

    async def acall_tool(self, name: str, args: dict[str, Any] | None = None) -> Any:
        host = self._require_host()
        future = host.start_callback(self.id, name, dict(args or {}))
        return await asyncio.wrap_future(future)

    def tool(
        self, name: str, *, description: str | None = None, parameters: dict[str, Any] | None = None
    ) -> Callable[..., Any]:
        """A Python function that calls the Node tool `name`; its __name__, docstring and signature come from the
        spec Node registered (or the arguments here), so dspy.Tool / dspy.ReAct can describe it to the LM."""
        spec = self.tools.get(name) or ToolSpec(name=name)
        if description is not None or parameters is not None:
            spec = ToolSpec(
                name=name,
                description=description if description is not None else spec.description,
                parameters=parameters if parameters is not None else spec.parameters,
            )
        return make_tool_function(self, spec)

    def _require_host(self) -> CallbackHost:
        if self.host is None:
            raise RuntimeError("this session has no connection to Node")
        return self.host


def make_tool_function(session: Session, spec: ToolSpec) -> Callable[..., Any]:
    properties = spec.properties
    required = set(spec.required)
    # Required parameters first so the synthesized signature is valid Python; positionals bind in this order.
    names = [n for n in properties if n in required] + [n for n in properties if n not in required]

    def proxy(*args: Any, **kwargs: Any) -> Any:
        if len(args) > len(names):
            raise TypeError(f"{spec.name}() takes {len(names)} positional arguments but {len(args)} were given")
        call_args = dict(zip(names, args))
        for key, value in kwargs.items():
            if key in call_args:
                raise TypeError(f"{spec.name}() got multiple values for argument {key!r}")
            call_args[key] = value
        return session.call_tool(spec.name, call_args)

    proxy.__name__ = spec.name
    proxy.__qualname__ = spec.name
    proxy.__doc__ = spec.description or f"Tool {spec.name!r} provided by the Node host."
    if properties:
        params: list[inspect.Parameter] = []
        annotations: dict[str, Any] = {}
        for param_name in names:
            schema = properties[param_name] if isinstance(properties[param_name], dict) else {}
            py_type = _JSON_TYPES.get(schema.get("type", ""), Any)
            annotations[param_name] = py_type
            if param_name in required:
                default: Any = inspect.Parameter.empty
            else:
                default = schema.get("default")
            params.append(
                inspect.Parameter(param_name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=py_type)
            )
        proxy.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        proxy.__annotations__ = annotations
    else:
        proxy.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)]
        )
    return proxy


class SessionStore:
    """All sessions of one worker; None is the default session."""

    def __init__(self, host: CallbackHost | None = None) -> None:
        self.host = host
        self._sessions: dict[str | None, Session] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str | None) -> Session:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                session = self._sessions[session_id] = Session(session_id, self.host)
            return session

    def detach(self, session_id: str | None) -> Session | None:
        """Removes a session from the store (close_session): later calls with its id get a fresh, empty one. The
        caller frees the detached session's objects (see Server.free_when_idle)."""
        with self._lock:
            return self._sessions.pop(session_id, None)

    def ids(self) -> list[str | None]:
        with self._lock:
            return list(self._sessions)
