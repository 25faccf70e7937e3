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
