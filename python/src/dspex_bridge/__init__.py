"""dspex_bridge: the Python worker of DSPex. Node spawns `python -m dspex_bridge.worker` and speaks
length-prefixed MessagePack with it on extra file descriptors; see python/README.md for the protocol."""

from .context import CallContext, check_cancelled, current_call, current_session
from .errors import (
    BadArguments,
    BridgeError,
    CallbackError,
    Cancelled,
    NotAllowed,
    UnknownCommand,
    UnknownHandle,
)
from .registry import REGISTRY, Registry, command
from .server import Final
from .session import Session

__version__ = "0.1.0"

__all__ = [
    "BadArguments",
    "BridgeError",
    "CallContext",
    "CallbackError",
    "Cancelled",
    "Final",
    "NotAllowed",
    "REGISTRY",
    "Registry",
    "Session",
    "UnknownCommand",
    "UnknownHandle",
    "__version__",
    "check_cancelled",
    "command",
    "current_call",
    "current_session",
]
