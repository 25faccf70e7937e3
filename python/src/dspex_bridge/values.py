"""The values that cross the bridge: what JS values arrive as in Python, and how Python values go back.

Mirrors packages/python-bridge/src/values/ext.ts (extension codes, typed-array kinds); the value table in
packages/python-bridge/README.md is the contract. A value either arrives equal or is refused with its path.
"""

from __future__ import annotations

import array
import datetime as _dt
import sys
from typing import Any, Callable

import msgpack

EXT_BIGINT = 1  # big-endian two's complement, minimal length
EXT_TYPED_ARRAY = 2  # one kind byte, then the elements' bytes, little-endian
EXT_DATE = 3  # int64 big-endian: milliseconds since the Unix epoch
EXT_SET = 4  # a MessagePack array of the elements
EXT_MAP = 5  # a MessagePack map of the entries, in order

#: Python ints inside this range travel as MessagePack ints (a JS number); outside it as a JS BigInt.
MAX_SAFE_INTEGER = 2**53 - 1
#: Deepest nesting a Python result may have (msgpack's own limit is 511); deeper is refused with its path.
MAX_NESTING = 500

EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def _typecode(size: int, signed: bool) -> str:
    for code in ("i", "l", "q") if signed else ("I", "L", "Q"):
        if array.array(code).itemsize == size:
            return code
    raise RuntimeError(f"no array typecode of {size} bytes")


#: kind byte -> (JS class, array typecode)
KINDS: dict[int, tuple[str, str]] = {
    1: ("Int8Array", "b"),
    2: ("Uint8Array", "B"),
    3: ("Uint8ClampedArray", "B"),
    4: ("Int16Array", "h"),
    5: ("Uint16Array", "H"),
    6: ("Int32Array", _typecode(4, True)),
    7: ("Uint32Array", _typecode(4, False)),
    8: ("Float32Array", "f"),
    9: ("Float64Array", "d"),
    10: ("BigInt64Array", _typecode(8, True)),
    11: ("BigUint64Array", _typecode(8, False)),
}
KIND_BYTES = {name: code for code, (name, _) in KINDS.items()}
TYPECODES = {name: typecode for name, typecode in KINDS.values()}


class JsBigInt(int):
    """An int that was a JS BigInt: it goes back as a BigInt, whatever its size. Arithmetic on it gives plain
    ints (which go back as numbers inside the safe range, BigInts outside it)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"JsBigInt({int(self)})"


class JsMap(dict):  # type: ignore[type-arg]
    """A dict that was a JS Map (keys of any primitive type, order kept): it goes back as a Map. A plain dict
    goes back as an object when its keys are all str, as a Map otherwise."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"JsMap({dict.__repr__(self)})"


class TypedArray(array.array):  # type: ignore[type-arg]
    """A JS typed array: an array.array of the matching typecode that remembers its JS class (`kind`, e.g.
    "Float32Array"), so it goes back as the same class. Equal to an array.array of the same typecode and items."""

    def __new__(cls, kind: str, initializer: Any = ()) -> TypedArray:
        self = super().__new__(cls, TYPECODES[kind], initializer)
        self.kind = kind
        return self

    def __repr__(self) -> str:
        return f"TypedArray({self.kind!r}, {self.tolist()!r})"

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (_typed_array, (self.kind, self.tobytes()))


def _typed_array(kind: str, data: bytes) -> TypedArray:
    out = TypedArray(kind)
    out.frombytes(data)
    if sys.byteorder == "big":
        out.byteswap()
    return out


def _kind_of(value: array.array) -> str | None:  # type: ignore[type-arg]
    kind = getattr(value, "kind", None)  # a slice of a TypedArray is one too, without the attribute
    if isinstance(kind, str):
        return kind
    signed = value.typecode in "bhilq"
    names = {
        ("b", 1): "Int8Array", ("B", 1): "Uint8Array", ("h", 2): "Int16Array", ("H", 2): "Uint16Array",
        ("f", 4): "Float32Array", ("d", 8): "Float64Array",
    }
    if (value.typecode, value.itemsize) in names:
        return names[(value.typecode, value.itemsize)]
    if value.typecode in "iIlLqQ":
        size = {4: "32", 8: "64"}.get(value.itemsize)
        if size == "32":
            return "Int32Array" if signed else "Uint32Array"
        if size == "64":
            return "BigInt64Array" if signed else "BigUint64Array"
    return None


# -- Node -> Python ---------------------------------------------------------------------------------------------


def ext_hook(code: int, data: bytes) -> Any:
    """msgpack `ext_hook`: the Python value of one of our extension types (see the module docstring)."""
    if code == EXT_BIGINT:
        return JsBigInt(int.from_bytes(data, "big", signed=True))
    if code == EXT_TYPED_ARRAY:
        name, _ = KINDS[data[0]]
        return _typed_array(name, data[1:])
    if code == EXT_DATE:
        return EPOCH + _dt.timedelta(milliseconds=int.from_bytes(data, "big", signed=True))
    if code == EXT_SET:
        return set(unpack_value(data))
    if code == EXT_MAP:
        return JsMap(unpack_value(data))
    raise ValueError(f"unknown MessagePack extension type {code}")


def unpack_value(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False, use_list=True, ext_hook=ext_hook)


# -- Python -> Node ---------------------------------------------------------------------------------------------


class Refused(Exception):
    """A value Node would not receive equal; `reason` says why (the path is added by the caller)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def bigint_ext(value: int) -> msgpack.ExtType:
    length = (value + (value < 0)).bit_length() // 8 + 1
    return msgpack.ExtType(EXT_BIGINT, int(value).to_bytes(length, "big", signed=True))


def date_ext(value: _dt.datetime) -> msgpack.ExtType:
    if value.utcoffset() is None:
        raise Refused(f"a naive datetime ({value.isoformat()}): a JS Date is an instant; attach a timezone, "
                      "e.g. value.replace(tzinfo=datetime.timezone.utc)")
    delta = value - EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if micros % 1000:
        raise Refused(f"a datetime with microseconds ({value.isoformat()}): a JS Date holds whole milliseconds; "
                      "round it first, e.g. value.replace(microsecond=value.microsecond // 1000 * 1000)")
    return msgpack.ExtType(EXT_DATE, (micros // 1000).to_bytes(8, "big", signed=True))


def typed_array_ext(value: array.array) -> msgpack.ExtType:  # type: ignore[type-arg]
    kind = _kind_of(value)
    if kind is None:
        raise Refused(f"an array.array of typecode {value.typecode!r}: JS has no typed array of it")
    data = value
    if sys.byteorder == "big":
        data = array.array(value.typecode, value)
        data.byteswap()
    return msgpack.ExtType(EXT_TYPED_ARRAY, bytes([KIND_BYTES[kind]]) + data.tobytes())


def value_ext(value: Any, pack: Callable[[Any], bytes]) -> msgpack.ExtType | None:
    """The extension for a value of the table (BigInt, Map, Set, Date, typed array); None for any other value.
    `pack` encodes the contents of a Map or Set. Raises Refused for one Node would not receive equal."""
    if isinstance(value, JsBigInt):
        return bigint_ext(value)
    if isinstance(value, JsMap):
        return msgpack.ExtType(EXT_MAP, pack(dict(value)))
    if isinstance(value, (set, frozenset)):
        return msgpack.ExtType(EXT_SET, pack(list(value)))
    if isinstance(value, _dt.datetime):
        return date_ext(value)
    if isinstance(value, array.array):
        return typed_array_ext(value)
    return None


def check_str(value: str) -> None:
    """Refuses a str with lone surrogates (e.g. '\\ud83d', half an emoji): it has no UTF-8 form."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Refused(f"lone surrogate U+{ord(value[exc.start]):04X} at index {exc.start}; "
                      "a JS string from the bridge is valid Unicode: fix the string (text from bytes that are not "
                      "UTF-8 holds these: decode it with errors='replace')") from None
