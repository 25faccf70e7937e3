"""Framing: the shared byte vectors, invalid frames, and reads split across pipe writes."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import pytest
from gen_vectors import VECTORS_PATH, render, revive

from dspex_bridge.framing import (
    DEFAULT_MAX_FRAME_BYTES,
    FrameReader,
    ProtocolError,
    decode_frames,
    encode_frame,
    validate_message,
)
from dspex_bridge.values import TypedArray

VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def test_vectors_file_is_what_the_generator_writes() -> None:
    assert VECTORS_PATH.read_text(encoding="utf-8") == render()


def test_vectors_cover_every_message_kind() -> None:
    kinds = {v["message"]["t"] for v in VECTORS["vectors"]}
    assert kinds == {
        "ready", "call", "result", "error", "chunk", "credit", "cancel", "ping", "pong",
        "callback", "callback_result", "callback_error", "fatal",
    }


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_encoding_gives_exactly_the_vector_bytes(vector: dict[str, Any]) -> None:
    assert encode_frame(vector["message"]).hex() == vector["hex"]


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_decoding_the_vector_bytes_gives_the_message(vector: dict[str, Any]) -> None:
    (decoded,) = decode_frames(bytes.fromhex(vector["hex"]))
    assert decoded == vector["message"]
    # Same types too: 1.5 stays a float, 4294967295 an int, None a None.
    assert json.dumps(decoded, sort_keys=True) == json.dumps(vector["message"], sort_keys=True)


def _read_through_pipe(data: bytes, max_frame_bytes: int) -> list[Any]:
    r, w = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(w, data) if data else None, os.close(w)))
    writer.start()
    reader = FrameReader(r, max_frame_bytes)
    try:
        out = []
        while (message := reader.read()) is not None:
            out.append(message)
        return out
    finally:
        writer.join()
        os.close(r)


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["name"])
def test_invalid_frames_are_protocol_errors_of_their_kind(case: dict[str, Any]) -> None:
    limit = case.get("max_frame_bytes", DEFAULT_MAX_FRAME_BYTES)
    with pytest.raises(ProtocolError) as caught:
        _read_through_pipe(bytes.fromhex(case["hex"]), limit)
    assert caught.value.kind == case["kind"]


def test_invalid_kinds_match_decode_frames_too() -> None:
    for case in VECTORS["invalid"]:
        limit = case.get("max_frame_bytes", DEFAULT_MAX_FRAME_BYTES)
        with pytest.raises(ProtocolError) as caught:
            for message in decode_frames(bytes.fromhex(case["hex"]), limit):
                validate_message(message)
        assert caught.value.kind == case["kind"], case["name"]


def test_reader_reassembles_frames_split_at_every_byte() -> None:
    messages = [v["message"] for v in VECTORS["vectors"][:6]]
    stream = b"".join(encode_frame(m) for m in messages)
    r, w = os.pipe()

    def trickle() -> None:
        for i in range(len(stream)):
            os.write(w, stream[i : i + 1])
        os.close(w)

    writer = threading.Thread(target=trickle)
    writer.start()
    reader = FrameReader(r)
    got = []
    while (message := reader.read()) is not None:
        got.append(message)
    writer.join()
    os.close(r)
    assert got == messages


def test_clean_eof_between_frames_is_none() -> None:
    assert _read_through_pipe(b"", DEFAULT_MAX_FRAME_BYTES) == []


def test_encoding_refuses_frames_over_the_limit() -> None:
    with pytest.raises(ProtocolError) as caught:
        encode_frame({"t": "result", "id": 1, "value": "x" * 100}, max_frame_bytes=64)
    assert caught.value.kind == "FrameTooLarge"


def test_integral_floats_stay_float64_in_python() -> None:
    # A JS encoder sends 2.0 as the int 2; Python's float 2.0 is float64. The vectors avoid integral floats.
    assert encode_frame({"x": 2.0}) != encode_frame({"x": 2})


def test_frame_decoder_gives_every_message_however_the_stream_is_split() -> None:
    # The worker's event loop feeds whatever one read returned: a byte, many frames, a frame and a half.
    from dspex_bridge.framing import FrameDecoder

    messages = [v["message"] for v in VECTORS["vectors"]] + [{"t": "result", "id": 7, "value": b"x" * 300_000}]
    stream = b"".join(encode_frame(m) for m in messages)
    for size in (1, 3, 4, 5, 97, 65536, len(stream)):
        decoder = FrameDecoder()
        out: list[Any] = []
        for at in range(0, len(stream), size):
            out += decoder.feed(stream[at : at + size])
        assert out == messages, f"split every {size} bytes"
        assert decoder.pending == 0


def test_frame_decoder_refuses_an_oversized_prefix_before_its_payload_arrives() -> None:
    from dspex_bridge.framing import FrameDecoder

    decoder = FrameDecoder(max_frame_bytes=16)
    with pytest.raises(ProtocolError) as raised:
        decoder.feed((17).to_bytes(4, "big"))
    assert raised.value.kind == "FrameTooLarge"


def _same(a: Any, b: Any) -> bool:
    """Equal, of the same type, -0.0 apart from 0.0 and NaN equal to NaN (the value table's notion of equal)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (a != a and b != b) or (a == b and str(a) == str(b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, TypedArray):
        return a.kind == b.kind and a.tobytes() == b.tobytes()
    return bool(a == b)


@pytest.mark.parametrize("vector", VECTORS["values"], ids=lambda v: v["name"])
def test_value_vectors_encode_and_decode_both_ways(vector: dict[str, Any]) -> None:
    value = revive(vector["value"])
    assert encode_frame({"t": "result", "id": 1, "value": value}).hex() == vector["hex"]
    (decoded,) = decode_frames(bytes.fromhex(vector["hex"]))
    assert _same(decoded["value"], value)
