"""Commands the integration tests load into the worker with --commands (a user command module, as a user
would write one). State they record is read back with the `probe` command, never by timing."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from typing import Any, AsyncIterator, Iterator

from dspex_bridge import Final, command, current_call, current_session

PRODUCED: dict[int, int] = {}
EVENTS: dict[str, threading.Event] = {}
LOG: list[str] = []


def _event(name: str) -> threading.Event:
    return EVENTS.setdefault(name, threading.Event())


@command("add")
def add(a: int, b: int) -> int:
    return a + b


@command("fail")
def fail(message: str = "boom") -> None:
    raise ValueError(message)


@command("count")
def count(n: int, start: int = 0) -> Iterator[int]:
    """A sync stream; PRODUCED[call id] says how far the generator has actually run."""
    call_id = current_call().id
    PRODUCED[call_id] = 0
    for i in range(start, start + n):
        PRODUCED[call_id] += 1
        yield i
    return n


@command("acount")
async def acount(n: int) -> AsyncIterator[Any]:
    call_id = current_call().id
    PRODUCED[call_id] = 0
    for i in range(n):
        PRODUCED[call_id] += 1
        yield {"i": i}
    yield Final({"total": n})


@command("probe")
async def probe(call_id: int | None = None) -> dict[str, Any]:
    return {
        "produced": PRODUCED.get(call_id) if call_id is not None else None,
        "log": list(LOG),
        "events": sorted(name for name, ev in EVENTS.items() if ev.is_set()),
    }


@command("open_gate")
async def open_gate(name: str) -> bool:
    _event(name).set()
    return True


@command("wait_gate")
def wait_gate(name: str) -> str:
    """A slow sync command: returns once `open_gate(name)` ran."""
    if not _event(name).wait(30):
        raise TimeoutError(name)
    return f"gate {name} passed"


@command("block_sync")
def block_sync() -> str:
    """Blocks until cancelled (the cooperative flag), then records that it saw the cancel."""
    ctx = current_call()
    woke = threading.Event()
    ctx.on_cancel(woke.set)
    woke.wait(30)
    LOG.append(f"block_sync {ctx.id} saw cancel={ctx.cancelled}")
    _event(f"block_sync_done_{ctx.id}").set()
    return "should be discarded"


@command("block_async")
async def block_async() -> str:
    ctx = current_call()
    try:
        await asyncio.get_running_loop().create_future()
    except asyncio.CancelledError:
        LOG.append(f"block_async {ctx.id} cancelled")
        raise
    return "unreachable"


@command("noisy")
def noisy(text: str) -> str:
    """A library that prints: to sys.stdout, to sys.stderr and straight to fd 1."""
    print(text)
    print(f"err: {text}", file=sys.stderr)
    os.write(1, f"raw: {text}\n".encode())
    return "still framed"


@command("ask_node")
def ask_node(name: str, args: dict[str, Any]) -> Any:
    return current_session().call_tool(name, args)


@command("ask_node_async")
async def ask_node_async(name: str, args: dict[str, Any]) -> Any:
    return await current_session().acall_tool(name, args)


@command("tool_shape")
def tool_shape(name: str) -> dict[str, Any]:
    """How the proxy for a Node tool looks to Python and to dspy.Tool."""
    import inspect

    import dspy

    fn = current_session().tool(name)
    tool = dspy.Tool(fn)
    return {"name": fn.__name__, "doc": fn.__doc__, "signature": str(inspect.signature(fn)), "args": tool.args}


# -- replies that are hard to encode, and work that ignores its cancel (issue 8, sections 3 and 4) -----------


@command("raise_bad_utf8")
def raise_bad_utf8() -> None:
    """An exception whose message holds a lone surrogate, as os.fsdecode makes from non-UTF-8 bytes."""
    raise OSError(f"cannot open {os.fsdecode(b'caf' + bytes([0xE9]))}")


@command("raise_huge")
def raise_huge(chars: int) -> None:
    raise ValueError("x" * chars)


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


@command("raise_unprintable")
def raise_unprintable() -> None:
    raise _Unprintable()


@command("bad_result")
def bad_result() -> Any:
    return {"fine": 1, "bad": os.fsdecode(b"caf" + bytes([0xE9]))}


@command("bad_chunk")
def bad_chunk() -> Iterator[Any]:
    yield 1
    yield object()
    yield 3


@command("ignore_cancel")
def ignore_cancel(name: str) -> str:
    """Blocks until `open_gate(name)`, whatever happens to the call (a sync command that never checks its flag).
    Opens the gate `<name>:started` first, so a test can wait until it runs."""
    _event(f"{name}:started").set()
    _event(name).wait(30)
    return "finished"


@command("call_table")
async def call_table() -> dict[str, int]:
    return current_call().worker.call_table(excluding=current_call().id)


# Says its pid on stdout once it runs (so it is past exec), lets go of the pipe, and sleeps.
_LONG_SLEEP = "import os, time; os.write(1, b'%d\\n' % os.getpid()); os.close(1); time.sleep(600)"
# A daemon's double fork: a new session, a fork, and the middle process exits so that its child is re-parented.
_DOUBLE_FORK = (
    "import os, sys\n"
    "os.setsid()\n"
    "if os.fork():\n"
    "    os._exit(0)\n"
    "os.execv(sys.executable, [sys.executable, '-c', " + repr(_LONG_SLEEP) + "])\n"
)


@command("spawn_grandchild")
def spawn_grandchild(mode: str = "plain") -> int:
    """Starts a long-lived process the way a careless command would and returns its pid once it runs, without
    waiting for it: 'plain' (subprocess.Popen), 'setsid' (a new session), 'double_fork' (setsid, fork, exit)."""
    import subprocess

    programs = {"plain": (_LONG_SLEEP, False), "setsid": (_LONG_SLEEP, True), "double_fork": (_DOUBLE_FORK, False)}
    if mode not in programs:
        raise ValueError(f"unknown mode {mode!r}: use plain, setsid or double_fork")
    program, new_session = programs[mode]
    child = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, start_new_session=new_session)
    assert child.stdout is not None
    with child.stdout:
        return int(child.stdout.readline())


def _adversarial_values() -> dict[str, Any]:
    """Results that Node must receive equal (`faithful`) or that must fail only their own call, naming the path."""
    import array
    import datetime

    from dspex_bridge.values import JsMap

    utc = datetime.timezone.utc
    deep: list[Any] = []
    level = deep
    for _ in range(2000):
        level.append([])
        level = level[0]
    return {
        "faithful": {
            "big": 2**70, "unsafe": 2**53, "safe": 2**53 - 1, "negative_big": -(2**64) - 1, "neg_zero": -0.0,
            "nan": float("nan"), "inf": float("inf"), "int_keys": {1: "a", 2: "b"}, "map": JsMap({"k": 1}),
            "set": {1, 2, 3}, "frozen": frozenset({"x"}), "when": datetime.datetime(2024, 2, 29, 12, 0, 0, 123000, tzinfo=utc),
            "f32": array.array("f", [1.5, -2.0]), "u8": array.array("B", [0, 255]), "bytes": b"\x00\xff",
            "tuple": (1, "two"), "emoji": "🙂", "nul": "a\x00b",
        },
        "half_emoji": "ok \ud83d",
        "nested_half_emoji": {"items": [0, 1, 2, {"name": "\ud83d"}]},
        "microseconds": datetime.datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=utc),
        "naive_datetime": datetime.datetime(2024, 1, 1),
        "too_deep": deep,
        "object": {"thing": object()},
    }


@command("adversarial")
def adversarial(kind: str) -> Any:
    return _adversarial_values()[kind]


@command("tool_with_half_emoji")
def tool_with_half_emoji(name: str) -> Any:
    """Calls a Node tool with arguments Node must not receive: the call fails in Python, naming the path."""
    return current_session().call_tool(name, {"text": "x\ud83d"})
