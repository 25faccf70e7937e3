"""Typed errors of the bridge. Each has a stable `type` that travels as error.type in `error` frames;
any other exception travels with its Python class name as the type.
"""

from __future__ import annotations

import traceback
from typing import Any


class BridgeError(Exception):
    """Base of the bridge's own errors; `type` is the stable name Node matches on."""

    type = "BridgeError"


class UnknownCommand(BridgeError):
    type = "UnknownCommand"


class BadRequest(BridgeError):
    """A message that decodes but lacks what its kind needs (e.g. a call without "cmd")."""

    type = "BadRequest"


class BadArguments(BridgeError):
    """The call's args do not bind to the command's parameters."""

    type = "BadArguments"


class NotAllowed(BridgeError):
    """A class path outside the allow-list, a private attribute, or an unsafe file format."""

    type = "NotAllowed"


class ConfigurationError(BridgeError):
    """A pool setting the worker cannot serve with, found at startup before `ready` (see startup.py): `setting` is
    the pool option as Node names it (`python.grant`), `entry` the value in it that is wrong (a class path, a module
    name), if one is; `__cause__` is what Python raised, if anything did."""

    type = "ConfigurationError"

    def __init__(self, setting: str, message: str, entry: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting
        self.entry = entry


class UnknownHandle(BridgeError):
    type = "UnknownHandle"


class Cancelled(BridgeError):
    """The call was cancelled by Node (or the worker is shutting down)."""

    type = "Cancelled"


class Unserializable(BridgeError):
    """A result that cannot be encoded as MessagePack."""

    type = "Unserializable"


class CallbackError(BridgeError):
    """A Node tool called from Python failed; `remote` holds Node's error map."""

    type = "CallbackError"

    def __init__(self, message: str, remote: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.remote = remote or {}


#: Longest error message sent to Node, in characters; a longer one is cut and ends with CUT_MARKER.
MAX_ERROR_MESSAGE_CHARS = 64 * 1024
#: Longest traceback sent to Node, in characters; a longer one keeps its end (the raising frame) and starts
#: with CUT_MARKER.
MAX_TRACEBACK_CHARS = 64 * 1024
CUT_MARKER = "[dspex_bridge: cut, {n} more characters]"


def safe_text(text: str) -> str:
    """`text` as a str that always encodes as UTF-8: lone surrogates (e.g. from os.fsdecode of non-UTF-8
    bytes) become backslash escapes (`\\udce9`)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def cut_text(text: str, limit: int, keep_end: bool = False) -> str:
    """`text` at most about `limit` characters; a cut one says so, and how much was cut."""
    if len(text) <= limit:
        return text
    marker = CUT_MARKER.format(n=len(text) - limit)
    return marker + "\n" + text[-limit:] if keep_end else text[:limit] + " " + marker


def _describe(exc: BaseException) -> str:
    try:
        return str(exc)
    except BaseException as failure:  # noqa: BLE001 - a broken __str__ must not lose the reply
        return f"<str() of the exception raised {type(failure).__name__}>"


def error_map(exc: BaseException) -> dict[str, str]:
    """The wire form of an exception: {"type", "message", "traceback"}, always encodable: text is made valid
    UTF-8 (`safe_text`) and cut at MAX_ERROR_MESSAGE_CHARS / MAX_TRACEBACK_CHARS with a marker."""
    kind = exc.type if isinstance(exc, BridgeError) else type(exc).__name__
    full = _describe(exc)
    message = cut_text(full, MAX_ERROR_MESSAGE_CHARS)
    try:
        if message is full:
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        else:  # its last line would repeat the whole message (the `message` field has it): a short cut instead
            frames = "".join(traceback.format_tb(exc.__traceback__))
            tb = f"Traceback (most recent call last):\n{frames}{type(exc).__name__}: {cut_text(full, 1000)}\n"
    except BaseException:  # noqa: BLE001 - a traceback is a courtesy; the reply is not
        tb = ""
    return {
        "type": safe_text(str(kind))[:200],
        "message": safe_text(message),
        "traceback": safe_text(cut_text(tb, MAX_TRACEBACK_CHARS, keep_end=True)),
    }
