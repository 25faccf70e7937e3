"""The value table on the Python side: what Node's values arrive as, what goes back as what, and what is refused
with Unserializable naming its path (the frame is never written, so the worker serves on)."""

from __future__ import annotations

import array
import datetime
from typing import Any

import pytest

from dspex_bridge.errors import Unserializable
from dspex_bridge.framing import decode_frames, encode_frame
from dspex_bridge.values import JsBigInt, JsMap, TypedArray
from dspex_bridge.wire import encode_default

UTC = datetime.timezone.utc


def round_trip(value: Any) -> Any:
    (message,) = decode_frames(encode_frame({"t": "result", "id": 1, "value": value}, default=encode_default))
    return message["value"]


def test_the_types_of_the_table_go_back_as_they_came() -> None:
    assert repr(round_trip(JsBigInt(5))) == "JsBigInt(5)"
    assert round_trip(JsMap({1: "a", "b": 2})) == JsMap({1: "a", "b": 2})
    assert type(round_trip(JsMap({"k": 1}))) is JsMap  # a Map with string keys stays a Map
    assert round_trip(TypedArray("Float32Array", [1.5])).kind == "Float32Array"
    assert round_trip({1, 2}) == {1, 2}
    when = datetime.datetime(2024, 2, 29, 12, 0, 0, 7000, tzinfo=UTC)
    assert round_trip(when) == when


def test_python_values_with_no_js_twin_arrive_by_the_rules() -> None:
    assert type(round_trip(2**70)) is JsBigInt  # an int past 64 bits travels as a BigInt
    assert round_trip(array.array("h", [1, -2])) == array.array("h", [1, -2])
    assert round_trip((1, "x")) == [1, "x"]
    assert round_trip(frozenset({3})) == {3}
    assert str(round_trip(-0.0)) == "-0.0"
    other_tz = datetime.datetime(2024, 1, 1, 1, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert round_trip(other_tz) == other_tz  # the same instant, back in UTC


def test_a_typed_array_slice_keeps_its_kind() -> None:
    part = TypedArray("Int16Array", [1, 2, 3])[1:]
    assert round_trip(part).kind == "Int16Array"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ok \ud83d", "result: lone surrogate U+D83D at index 3"),
        ({"items": [0, 1, 2, {"name": "x\udc00"}]}, "result.items[3].name: lone surrogate U+DC00 at index 1"),
        ({"k\ud800": 1}, "result (a key): lone surrogate U+D800"),
        (datetime.datetime(2024, 1, 1), "result: a naive datetime"),
        (datetime.datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC), "a JS Date holds whole milliseconds"),
        ({"a": array.array("u", "x")}, "result.a: an array.array of typecode 'u'"),
        ({"x": [object()]}, "result.x[0]: cannot send a builtins.object"),
        ({"s": {"\udcff"}}, "result.s[0]: lone surrogate U+DCFF"),
    ],
)
def test_what_node_would_not_receive_equal_is_refused_with_its_path(value: Any, message: str) -> None:
    with pytest.raises(Unserializable) as caught:
        encode_frame({"t": "result", "id": 1, "value": value}, default=encode_default)
    assert message in str(caught.value)


def test_callback_args_and_chunks_name_their_own_root() -> None:
    with pytest.raises(Unserializable, match=r"^args\.text: lone surrogate"):
        encode_frame({"t": "callback", "id": 1, "session": None, "name": "t", "args": {"text": "\ud83d"}})
    with pytest.raises(Unserializable, match=r"^chunk\[0\]: lone surrogate"):
        encode_frame({"t": "chunk", "id": 1, "seq": 0, "value": ["\ud83d"]})


def test_nesting_past_the_limit_is_refused_with_a_shortened_path() -> None:
    deep: list[Any] = []
    level = deep
    for _ in range(2000):
        level.append([])
        level = level[0]
    with pytest.raises(Unserializable, match="nested more than 500 levels deep") as caught:
        encode_frame({"t": "result", "id": 1, "value": deep}, default=encode_default)
    assert len(str(caught.value)) < 400
