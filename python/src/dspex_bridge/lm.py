"""Building dspy LMs from wire specs, and applying them globally or per session.

dspy.configure may only be called from one thread (the first that called it) and never from two asyncio
tasks, so every global configure goes through one dedicated thread here.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from typing import Any, Iterator

from .errors import NotAllowed
from .session import Session

_ADAPTERS = {"chat": "ChatAdapter", "json": "JSONAdapter", "xml": "XMLAdapter"}
_LM_OPTIONS = ("model_type", "temperature", "max_tokens", "cache", "num_retries", "api_base", "api_key")
_configure_thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="dspy-configure")


def build_lm(spec: dict[str, Any]) -> Any:
    """{"dummy": answers, "adapter"?: "chat"|"json"|"xml"} -> dspy.utils.DummyLM;
    else {"model", "api_base"?, "api_key"?, "temperature"?, "max_tokens"?, "cache"?, "num_retries"?, "model_type"?,
    "kwargs"?: {...}} -> dspy.LM."""
    import dspy

    if not isinstance(spec, dict):
        raise TypeError("an LM spec is a map, e.g. {'model': 'openai/gpt-4o-mini'} or {'dummy': [...]}")
    if "dummy" in spec:
        from dspy.utils import DummyLM

        return DummyLM(
            spec["dummy"],
            follow_examples=bool(spec.get("follow_examples", False)),
            reasoning=bool(spec.get("reasoning", False)),
            adapter=build_adapter(spec.get("adapter")),  # the format the dummy answers in (default: chat)
        )
    model = spec.get("model")
    if not isinstance(model, str) or not model:
        raise ValueError("an LM spec needs a 'model' such as 'openai/gpt-4o-mini'")
    options = {key: spec[key] for key in _LM_OPTIONS if spec.get(key) is not None}
    extra = spec.get("kwargs") or {}
    if not isinstance(extra, dict):
        raise TypeError("'kwargs' of an LM spec must be a map")
    check_request_options(extra)
    return dspy.LM(model, **options, **extra)


def check_request_options(options: dict[str, Any]) -> None:
    """LM request options from Node are the granted ones (capabilities.LM_REQUEST_OPTIONS), as plain data: an
    `api_base` here would send the configured key elsewhere, and LiteLLM imports `callbacks` by name."""
    from .capabilities import LM_REQUEST_OPTIONS

    for key, value in options.items():
        if key not in LM_REQUEST_OPTIONS:
            raise NotAllowed(f"LM option {key!r} is not granted; the granted request options are "
                             f"{', '.join(LM_REQUEST_OPTIONS)} (the model, api_base and api_key are the spec's own keys)")
        if not _is_plain(value):
            raise NotAllowed(f"LM option {key!r} must be plain data (strings, numbers, lists, maps)")


def _is_plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, list):
        return all(_is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def build_adapter(name: str | None) -> Any:
    if name is None:
        return None
    import dspy

    try:
        return getattr(dspy, _ADAPTERS[name])()
    except KeyError:
        raise ValueError(f"unknown adapter {name!r}; use one of {sorted(_ADAPTERS)}") from None


def configure_globally(**settings: Any) -> None:
    import dspy

    _configure_thread.submit(dspy.configure, **settings).result()


@contextlib.contextmanager
def session_lm(session: Session) -> Iterator[None]:
    """Runs a block with the session's LM and adapter, when it has its own (else the global ones)."""
    overrides = {k: v for k, v in (("lm", session.lm), ("adapter", session.adapter)) if v is not None}
    if not overrides:
        yield
        return
    import dspy

    with dspy.context(**overrides):
        yield
