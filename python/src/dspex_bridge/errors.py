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


def error_map(exc: BaseException) -> dict[str, str]:
    """The wire form of an exception: {"type", "message", "traceback"}."""
    kind = exc.type if isinstance(exc, BridgeError) else type(exc).__name__
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"type": kind, "message": str(exc), "traceback": tb}
