"""Spans of DSPy's LM calls inside a traced bridge call, sent back to Node with the call's reply.

Node carries the W3C trace context of its `dspex.python {command}` span in the call frame (`trace`:
{"traceparent", "tracestate"?}). While such a call runs, a DSPy callback records each LM call as a GenAI span
record (name, times, attributes, error); the records travel back in the reply's `spans` field, and Node emits
them as children of the call's span through the user's OpenTelemetry SDK, so exporting is configured once, in
Node. No OpenTelemetry package is needed in Python. A call without `trace` records nothing.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from .context import CallContext, current_call_or_none

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
# LiteLLM provider prefixes as the GenAI conventions' gen_ai.provider.name values.
_PROVIDERS = {"gemini": "gcp.gemini", "vertex_ai": "gcp.vertex_ai", "bedrock": "aws.bedrock", "azure": "azure.ai.openai"}
_MAX_SPANS = 1000

_installed = False
_install_lock = threading.Lock()


def start_trace(ctx: CallContext, carrier: Any) -> None:
    """Marks `ctx` as traced when `carrier` holds a valid, sampled traceparent; installs the DSPy callback once."""
    if not isinstance(carrier, dict):
        return
    traceparent = carrier.get("traceparent")
    if not isinstance(traceparent, str) or not _TRACEPARENT.match(traceparent) or not int(traceparent[-2:], 16) & 1:
        return
    ctx.trace_spans = []  # type: ignore[attr-defined]
    _install()


def with_spans(ctx: CallContext, message: dict[str, Any]) -> dict[str, Any]:
    """The reply `message`, with the call's span records when it was traced and recorded any."""
    spans = getattr(ctx, "trace_spans", None)
    if spans:
        message["spans"] = spans
    return message


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        import dspy
        from dspy.utils.callback import BaseCallback

        # Imported here, not at worker start: a worker that is never traced does not pay for dspy's import.
        recorder = type("LMSpanRecorder", (_LMSpanRecorder, BaseCallback), {})()
        # The default config's list: every thread and context sees it (dspy.configure from another thread is refused).
        dspy.settings.callbacks.append(recorder)
        _installed = True


def _provider_and_model(model: str) -> tuple[str, str]:
    provider, _, name = model.partition("/")
    if not name:
        return "openai", model
    return _PROVIDERS.get(provider, provider), name


class _LMSpanRecorder:
    """Records DSPy LM calls made inside a traced bridge call (on_lm_start / on_lm_end)."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[list[dict[str, Any]], Any, int, int]] = {}

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        ctx = current_call_or_none()
        spans = getattr(ctx, "trace_spans", None) if ctx is not None else None
        if spans is None or len(spans) >= _MAX_SPANS:
            return
        history = getattr(instance, "history", None)
        self._open[call_id] = (spans, instance, time.time_ns(), len(history) if isinstance(history, list) else -1)

    def on_lm_end(self, call_id: str, outputs: Any, exception: BaseException | None = None) -> None:
        opened = self._open.pop(call_id, None)
        if opened is None:
            return
        spans, instance, started, history_length = opened
        provider, model = _provider_and_model(str(getattr(instance, "model", "unknown")))
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
        }
        kwargs = getattr(instance, "kwargs", None) or {}
        for key, name in (("temperature", "gen_ai.request.temperature"), ("max_tokens", "gen_ai.request.max_tokens")):
            if isinstance(kwargs.get(key), (int, float)) and not isinstance(kwargs.get(key), bool):
                attributes[name] = kwargs[key]
        history = getattr(instance, "history", None)
        if exception is None and isinstance(history, list) and len(history) > history_length >= 0:
            attributes.update(_response_attributes(history[-1]))
        record: dict[str, Any] = {"name": f"chat {model}", "start_ns": started, "end_ns": time.time_ns(), "attributes": attributes}
        if exception is not None:
            attributes["error.type"] = type(exception).__name__
            record["error"] = str(exception)[:1000]
        spans.append(record)


def _response_attributes(entry: Any) -> dict[str, Any]:
    """gen_ai.response.* and gen_ai.usage.* from a DSPy history entry (its LiteLLM response and usage)."""
    out: dict[str, Any] = {}
    if not isinstance(entry, dict):
        return out
    usage = entry.get("usage") or {}
    if isinstance(usage, dict):
        if isinstance(usage.get("prompt_tokens"), int):
            out["gen_ai.usage.input_tokens"] = usage["prompt_tokens"]
        if isinstance(usage.get("completion_tokens"), int):
            out["gen_ai.usage.output_tokens"] = usage["completion_tokens"]
    response = entry.get("response")
    response_id = getattr(response, "id", None)
    response_model = getattr(response, "model", None) or entry.get("response_model")
    if isinstance(response_id, str):
        out["gen_ai.response.id"] = response_id
    if isinstance(response_model, str):
        out["gen_ai.response.model"] = response_model
    choices = getattr(response, "choices", None)
    if isinstance(choices, list):
        reasons = [c.finish_reason for c in choices if isinstance(getattr(c, "finish_reason", None), str)]
        if reasons:
            out["gen_ai.response.finish_reasons"] = reasons
    return out
