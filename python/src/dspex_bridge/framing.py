"""Wire framing for the DSPex bridge: a 4-byte big-endian length, then one MessagePack map.

Both directions use the same frame; the Node side (packages/python-bridge/src/values) and this module are
checked against the same byte vectors in test/vectors/protocol.json. Values follow the value table (values.py):
every failure to read a frame is a ProtocolError with a `kind`; a value Node would not receive equal is
refused with Unserializable naming its path, before anything is written.
"""

from __future__ import annotations

import os
import struct
import threading
from typing import Any, Callable

import msgpack

from .errors import Unserializable
from .values import MAX_NESTING, Refused, bigint_ext, check_str, ext_hook, value_ext

HEADER = struct.Struct(">I")
DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024

# Stable names for the ways a frame can be bad; they travel as error.type in the `fatal` frame.
FRAME_TOO_LARGE = "FrameTooLarge"
TRUNCATED = "Truncated"
UNDECODABLE = "Undecodable"
BAD_MESSAGE = "BadMessage"


class ProtocolError(Exception):
    """A frame or message that breaks the wire contract; the worker answers it with `fatal` and exit code 3."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


_packers = threading.local()


def _hook(default: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """The msgpack `default` for the strict packer: the value table's types first (values.py), then the
    caller's `default` (e.g. wire.encode_default), then the plain form of a subclass of a builtin type."""

    def hook(value: Any) -> Any:
        ext = value_ext(value, lambda inner: _new_packer(hook).pack(inner))
        if ext is not None:
            return ext
        if default is not None:
            return default(value)
        return plain(value)

    return hook


def plain(value: Any) -> Any:
    """The exact builtin form of a subclass of one (a tuple is a list); TypeError for anything else."""
    for base in (bool, int, float, str, bytes):
        if isinstance(value, base):
            return base(value)
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"cannot send a {type(value).__module__}.{type(value).__qualname__}")


def _new_packer(hook: Callable[[Any], Any]) -> msgpack.Packer:
    # strict_types: a subclass (JsBigInt, JsMap, an IntEnum, a tuple) reaches the hook instead of being
    # packed as its base type, so a JsBigInt goes back as a BigInt and a JsMap as a Map.
    return msgpack.Packer(use_bin_type=True, strict_types=True, default=hook)


def pack(message: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """MessagePack bytes of one message (no length prefix). Floats are float64, ints the smallest encoding.
    Raises what the packer or a hook raises; encode_frame turns that into Unserializable with a path."""
    # One Packer per thread and `default` hook: msgpack.packb builds a new Packer for every message, which
    # costs more than packing a small reply.
    packers: dict[Any, msgpack.Packer] | None = getattr(_packers, "by_default", None)
    if packers is None:
        packers = _packers.by_default = {}
    packer = packers.get(default)
    if packer is None:
        packer = packers[default] = _new_packer(_hook(default))
    packed: bytes = packer.pack(message)
    return packed


def unpack(payload: bytes | bytearray | memoryview) -> Any:
    """Decodes one frame payload; anything but exactly one valid MessagePack value is a ProtocolError."""
    if not payload:
        raise ProtocolError(UNDECODABLE, "empty frame payload")
    try:
        return msgpack.unpackb(payload, raw=False, strict_map_key=False, use_list=True, ext_hook=ext_hook)
    except Exception as exc:  # msgpack raises several unrelated types (ExtraData, ValueError, FormatError...)
        raise ProtocolError(UNDECODABLE, f"cannot decode frame payload: {type(exc).__name__}: {exc}") from exc


def encode_frame(
    message: Any,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    default: Callable[[Any], Any] | None = None,
) -> bytes:
    """Length prefix + payload. A value Node would not receive equal raises Unserializable naming its path
    (`result.items[3]: lone surrogate U+D83D at index 0`); a payload over the limit ProtocolError(FrameTooLarge)."""
    try:
        payload = pack(message, default=default)
    except Exception:  # noqa: BLE001 - the slow path below finds the value and says where it is
        # Rare: walk the message to convert what the packer cannot (ints past 64 bits) and to name the path of
        # what Node must not receive; then pack what the walk made of it.
        hook = _hook(default)
        try:
            payload = _new_packer(hook).pack(prepare_message(message, hook))
        except RecursionError:
            raise Unserializable(f"the {message.get('t', 'message') if isinstance(message, dict) else 'message'} is "
                                 f"nested too deep to send (the limit is {MAX_NESTING} levels)") from None
    if len(payload) > max_frame_bytes:
        raise ProtocolError(FRAME_TOO_LARGE, f"frame of {len(payload)} bytes exceeds max {max_frame_bytes}")
    return HEADER.pack(len(payload)) + payload


#: How the value of a message's key is named in a path: the result of a call is "result", not "value".
_ROOTS = {("result", "value"): "result", ("chunk", "value"): "chunk", ("callback", "args"): "args"}


def prepare_message(message: Any, hook: Callable[[Any], Any]) -> Any:
    """The message with every value made packable by the strict packer, or Unserializable naming the path."""
    if type(message) is not dict:
        return prepare(message, "message", 0, hook)
    kind = message.get("t")
    return {key: prepare(value, _ROOTS.get((kind, key), str(key)), 1, hook) for key, value in message.items()}


def _step(path: str, key: Any) -> str:
    if isinstance(key, str) and key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{key!r}]"


def prepare(value: Any, path: str, depth: int, hook: Callable[[Any], Any]) -> Any:
    """`value` in a form the strict packer packs as the value table says; Unserializable(path: why) if none."""
    kind = type(value)
    if value is None or kind is bool or kind is float or kind is bytes or kind is msgpack.ExtType:
        return value
    if kind is int:
        return value if -(2**63) <= value < 2**64 else bigint_ext(value)
    if kind is str:
        try:
            check_str(value)
        except Refused as exc:
            raise Unserializable(f"{path}: {exc.reason}") from None
        return value
    if depth > MAX_NESTING:
        where = path if len(path) < 160 else f"{path[:80]}…{path[-60:]}"
        raise Unserializable(f"{where}: nested more than {MAX_NESTING} levels deep; is the value cyclic? "
                             "Return a flatter value")
    if kind is dict:
        out = {}
        for key, item in value.items():
            packed_key = prepare(key, f"{path} (a key)", depth + 1, hook)
            out[tuple(packed_key) if type(packed_key) is list else packed_key] = prepare(
                item, _step(path, key), depth + 1, hook
            )
        return out
    if kind is list:
        items = []  # a loop, not a comprehension: one Python frame per level of nesting
        for i, item in enumerate(value):
            items.append(prepare(item, f"{path}[{i}]", depth + 1, hook))
        return items
    try:
        ext = value_ext(value, lambda inner: _new_packer(hook).pack(prepare(inner, path, depth + 1, hook)))
        converted = ext if ext is not None else hook(value)
    except Unserializable as exc:
        if str(exc).startswith(path):
            raise
        raise Unserializable(f"{path}: {exc}") from None
    except Refused as exc:
        raise Unserializable(f"{path}: {exc.reason}") from None
    except Exception as exc:  # noqa: BLE001 - a hook that fails names the value it failed on
        raise Unserializable(f"{path}: cannot send a {kind.__module__}.{kind.__qualname__} ({type(exc).__name__}: {exc})") from None
    if converted is value or type(converted) is kind:
        raise Unserializable(f"{path}: cannot send a {kind.__module__}.{kind.__qualname__}")
    return prepare(converted, path, depth, hook)


def decode_frames(data: bytes, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> list[Any]:
    """Decodes a complete byte string of frames; trailing partial data is a Truncated error."""
    messages: list[Any] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < HEADER.size:
            raise ProtocolError(TRUNCATED, "stream ended inside a length prefix")
        (length,) = HEADER.unpack_from(data, offset)
        offset += HEADER.size
        if length > max_frame_bytes:
            raise ProtocolError(FRAME_TOO_LARGE, f"frame of {length} bytes exceeds max {max_frame_bytes}")
        if len(data) - offset < length:
            raise ProtocolError(TRUNCATED, f"stream ended inside a frame of {length} bytes")
        messages.append(unpack(data[offset : offset + length]))
        offset += length
    return messages


def validate_message(message: Any) -> dict[Any, Any]:
    """Every message is a map with a string "t"; anything else is a BadMessage protocol error."""
    if not isinstance(message, dict):
        raise ProtocolError(BAD_MESSAGE, f"message is a {type(message).__name__}, not a map")
    kind = message.get("t")
    if not isinstance(kind, str):
        raise ProtocolError(BAD_MESSAGE, 'message has no string "t" key')
    return message


class FrameReader:
    """Blocking reader of frames from a file descriptor. `read()` returns None on a clean EOF between frames."""

    def __init__(self, fd: int, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self.fd = fd
        self.max_frame_bytes = max_frame_bytes

    def _read_exact(self, size: int, where: str) -> bytes | None:
        chunks: list[bytes] = []
        remaining = size
        while remaining:
            chunk = os.read(self.fd, min(remaining, 1 << 20))
            if not chunk:
                if remaining == size and where == "header":
                    return None
                raise ProtocolError(TRUNCATED, f"input ended inside a frame {where}")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def read(self) -> dict[Any, Any] | None:
        header = self._read_exact(HEADER.size, "header")
        if header is None:
            return None
        (length,) = HEADER.unpack(header)
        if length > self.max_frame_bytes:
            raise ProtocolError(FRAME_TOO_LARGE, f"frame of {length} bytes exceeds max {self.max_frame_bytes}")
        payload = self._read_exact(length, "payload") if length else b""
        return validate_message(unpack(payload or b""))


class FrameDecoder:
    """Incremental frame parser for a non-blocking reader: `feed` the bytes that arrived, get the whole
    messages they complete. Holds at most one partial frame; an oversized length prefix fails at once."""

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held back (non-zero at EOF means a frame was cut off)."""
        return len(self._buffer)

    def feed(self, data: bytes | memoryview) -> list[dict[Any, Any]]:
        """`data` may be a view of a buffer the caller reuses: whatever is kept past this call is copied."""
        buffer = self._buffer
        if buffer:
            buffer += data
            source: bytes | bytearray | memoryview = buffer
        else:
            source = data  # the usual case: parse the chunk itself, keep only an incomplete tail
        messages: list[dict[Any, Any]] = []
        offset = 0
        end = len(source)
        while end - offset >= HEADER.size:
            (length,) = HEADER.unpack_from(source, offset)
            if length > self.max_frame_bytes:
                raise ProtocolError(FRAME_TOO_LARGE, f"frame of {length} bytes exceeds max {self.max_frame_bytes}")
            start = offset + HEADER.size
            if end - start < length:
                break
            offset = start + length
            messages.append(validate_message(unpack(source[start:offset])))
        if source is buffer:
            del buffer[:offset]
        elif offset < end:
            buffer += source[offset:]
        return messages


def write_all(fd: int, data: bytes) -> None:
    """Writes every byte (os.write may write less than asked on a pipe)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
