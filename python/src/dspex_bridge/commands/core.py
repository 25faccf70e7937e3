"""Built-in commands that know nothing of DSPy programs: ping, info, configure_lm, register_tools,
close_session."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any

from ..context import current_call
from ..errors import BadArguments
from ..lm import build_adapter, build_lm, configure_globally
from ..registry import command
from ..session import ToolSpec
from ..versions import versions


@command("ping", inline=True)
def ping(**args: Any) -> dict[str, Any]:
    """Echoes its arguments. Inline: answered on the reader thread, the bridge's cheapest round trip."""
    return args


def detect_device() -> str:
    """"cuda:N" (N = the first id in CUDA_VISIBLE_DEVICES, i.e. the physical device the pool pinned) when that is
    set and torch sees CUDA; else "cpu". Torch is imported only in that case, and only if it is installed."""
    visible = (os.environ.get("CUDA_VISIBLE_DEVICES") or "").strip()
    if not visible or visible in ("-1", "none", "NoDevFiles"):
        return "cpu"
    if importlib.util.find_spec("torch") is None:
        return "cpu"
    try:
        import torch

        if not torch.cuda.is_available():
            return "cpu"
    except Exception:  # a broken CUDA install must not break `info`
        return "cpu"
    first = visible.split(",")[0].strip()
    return f"cuda:{first}" if first.isdigit() else "cuda:0"


@command("info")
def info() -> dict[str, Any]:
    ctx = current_call()
    worker = ctx.worker
    return {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "worker_id": getattr(worker, "worker_id", None),
        "run_id": getattr(worker, "run_id", None),
        "versions": versions(),
        "device": detect_device(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "python_executable": sys.executable,
        "commands": worker.registry.names() if worker is not None else [],
        "allow": list(worker.allow.patterns) if worker is not None else [],
        "sessions": len(worker.sessions.ids()) if worker is not None else 0,
        "call_table": worker.call_table(excluding=ctx.id) if worker is not None else {},
    }


_LM_KEYS = {
    "model", "api_base", "api_key", "model_type", "temperature", "max_tokens", "cache", "num_retries", "kwargs",
    "dummy", "follow_examples", "reasoning", "adapter", "scope",
}


@command("configure_lm")
def configure_lm(**spec: Any) -> dict[str, Any]:
    """Sets the LM (and optionally the adapter: "chat" | "json" | "xml"). scope "session" (the default when the
    call has a session) keeps it to this session's calls; scope "global" is dspy.configure for the process."""
    unknown = set(spec) - _LM_KEYS
    if unknown:
        raise BadArguments(f"configure_lm: unknown keys {sorted(unknown)}; allowed: {sorted(_LM_KEYS)}")
    session = current_call().session
    scope = spec.pop("scope", None) or ("global" if session.id is None else "session")
    if scope not in ("global", "session"):
        raise BadArguments('configure_lm: scope must be "global" or "session"')
    adapter = build_adapter(spec.pop("adapter", None))
    lm = build_lm(spec)
    if scope == "global":
        settings: dict[str, Any] = {"lm": lm}
        if adapter is not None:
            settings["adapter"] = adapter
        configure_globally(**settings)
    else:
        session.lm = lm
        session.adapter = adapter
    return {"model": getattr(lm, "model", type(lm).__name__), "scope": scope, "session": session.id}


@command("register_tools")
def register_tools(tools: list[dict[str, Any]]) -> dict[str, Any]:
    """Declares Node tools for this session: [{"name", "description"?, "parameters"?: JSON schema object}]."""
    session = current_call().session
    names = []
    for entry in tools:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise BadArguments('register_tools: each tool is a map with a string "name"')
        parameters = entry.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise BadArguments(f"register_tools: parameters of {entry['name']!r} must be a JSON schema map")
        session.register_tool(ToolSpec(entry["name"], str(entry.get("description") or ""), parameters))
        names.append(entry["name"])
    return {"session": session.id, "tools": sorted(session.tools)}


@command("close_session", ordered=True)
def close_session(session: str | None = None) -> dict[str, Any]:
    """Ends the call's session (or `session` when given) at this frame: every call frame read after it gets a
    fresh, empty session, whatever thread the calls before it still run on. Calls of the session already running
    keep its objects until they end; then every object, tool and LM of it is freed. Answers at once, with the
    number of objects the session held."""
    ctx = current_call()
    target = session if session is not None else ctx.session.id
    retired = ctx.worker.sessions.detach(target)
    objects = 0 if retired is None else ctx.worker.free_when_idle(retired)
    return {"session": target, "objects": objects}
