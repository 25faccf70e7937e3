"""Wire framing for the DSPex bridge: a 4-byte big-endian length, then one MessagePack map.

Both directions use the same frame; the Node side (msgpackr) and this module are checked against the same
byte vectors in test/vectors/protocol.json. Every failure to read a frame is a ProtocolError with a `kind`.
"""

from __future__ import annotations

import os
import struct
import threading
from typing import Any, Callable

import msgpack

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


def pack(message: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """MessagePack bytes of one message (no length prefix). Floats are float64, ints the smallest encoding."""
    # One Packer per thread and `default` hook: msgpack.packb builds a new Packer for every message, which
    # costs more than packing a small reply.
    packers: dict[Any, msgpack.Packer] | None = getattr(_packers, "by_default", None)
    if packers is None:
        packers = _packers.by_default = {}
    packer = packers.get(default)
    if packer is None:
        packer = packers[default] = msgpack.Packer(use_bin_type=True, default=default)
    packed: bytes = packer.pack(message)
    return packed


def unpack(payload: bytes | bytearray) -> Any:
    """Decodes one frame payload; anything but exactly one valid MessagePack value is a ProtocolError."""
    if not payload:
        raise ProtocolError(UNDECODABLE, "empty frame payload")
    try:
        return msgpack.unpackb(payload, raw=False, strict_map_key=False, use_list=True)
    except Exception as exc:  # msgpack raises several unrelated types (ExtraData, ValueError, FormatError...)
        raise ProtocolError(UNDECODABLE, f"cannot decode frame payload: {type(exc).__name__}: {exc}") from exc


def encode_frame(
    message: Any,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    default: Callable[[Any], Any] | None = None,
) -> bytes:
    """Length prefix + payload. Raises ProtocolError(FrameTooLarge) when the payload exceeds the limit."""
    payload = pack(message, default=default)
    if len(payload) > max_frame_bytes:
        raise ProtocolError(FRAME_TOO_LARGE, f"frame of {len(payload)} bytes exceeds max {max_frame_bytes}")
    return HEADER.pack(len(payload)) + payload


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

    def feed(self, data: bytes) -> list[dict[Any, Any]]:
        buffer = self._buffer
        if buffer:
            buffer += data
            source: bytes | bytearray = buffer
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
