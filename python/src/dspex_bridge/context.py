"""The per-call context: which call and session a command runs for, its cancel flag and its stream credits.

Commands reach it with `current_call()` / `current_session()`; it is set in a contextvar both for async
commands (their task's context) and for sync commands (the thread that runs them).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from typing import TYPE_CHECKING, Any, Callable

from .errors import Cancelled

if TYPE_CHECKING:
    from .session import Session

DEFAULT_CREDITS = 16


class CreditGate:
    """Stream backpressure: one credit per chunk; a stream waits here before producing the next chunk."""

    def __init__(self, initial: int) -> None:
        self._credits = max(0, initial)
        self._cond = threading.Condition()
        self._async_waiter: asyncio.Event | None = None
        self._closed = False

    @property
    def credits(self) -> int:
        return self._credits

    def grant(self, n: int) -> None:
        """Adds credits; called on the event loop thread when a `credit` message arrives."""
        with self._cond:
            self._credits += max(0, n)
            self._cond.notify_all()
        if self._async_waiter is not None:
            self._async_waiter.set()

    def close(self) -> None:
        """Wakes every waiter; they see the call cancelled."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._async_waiter is not None:
            self._async_waiter.set()

    def acquire(self) -> None:
        """Blocks a sync stream's thread until a credit is available; raises Cancelled if closed meanwhile."""
        with self._cond:
            while self._credits <= 0 and not self._closed:
                self._cond.wait()
            if self._closed:
                raise Cancelled("call cancelled")
            self._credits -= 1

    async def acquire_async(self) -> None:
        """Awaits a credit on the event loop (only the loop thread touches the async waiter)."""
        while True:
            with self._cond:
                if self._closed:
                    raise Cancelled("call cancelled")
                if self._credits > 0:
                    self._credits -= 1
                    return
                waiter = self._async_waiter = asyncio.Event()
            await waiter.wait()


class CallContext:
    """One in-flight call. `cancel()` is idempotent and may be called from the loop thread only."""

    def __init__(
        self,
        call_id: int,
        cmd: str,
        session: Session,
        credits: int = DEFAULT_CREDITS,
        worker: Any = None,
    ) -> None:
        self.id = call_id
        self.cmd = cmd
        self.session = session
        # The Server running this call: commands read its allow-list, ids and session store through it.
        self.worker = worker
        # Guards `finished` so a stream's chunk can never follow the call's terminal result or error.
        self.emit_lock = threading.Lock()
        self.finished = False
        # Set once under _lock, read without it; a plain flag costs nothing per call (an Event is a Condition).
        self._cancelled = False
        self._credits = credits
        self._gate: CreditGate | None = None
        self._callbacks: set[concurrent.futures.Future[Any]] = set()
        self._lock = threading.Lock()
        self._cancel_listeners: list[Callable[[], None]] = []
        self.task: asyncio.Task[Any] | None = None
        # A sync command's run in the thread pool: after a cancel, `released` waits for it to finish.
        self.thread_future: concurrent.futures.Future[Any] | None = None

    @property
    def gate(self) -> CreditGate:
        """The stream's credit gate, made on first use: only streams need one."""
        gate = self._gate
        if gate is None:
            with self._lock:
                if self._gate is None:
                    self._gate = CreditGate(self._credits)
                    if self._cancelled:
                        self._gate.close()
                gate = self._gate
        return gate

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def check_cancelled(self) -> None:
        """Long sync loops call this (or `dspex_bridge.check_cancelled()`) to stop promptly on cancel."""
        if self._cancelled:
            raise Cancelled(f"call {self.id} ({self.cmd}) was cancelled")

    def on_cancel(self, listener: Callable[[], None]) -> None:
        """Runs `listener` (on the loop thread) when the call is cancelled; at once if it already is."""
        with self._lock:
            if not self._cancelled:
                self._cancel_listeners.append(listener)
                return
        listener()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            listeners, self._cancel_listeners = self._cancel_listeners, []
            pending = list(self._callbacks)
            gate = self._gate
        if gate is not None:
            gate.close()
        for listener in listeners:
            listener()
        for future in pending:
            settle(future, error=Cancelled(f"call {self.id} was cancelled while waiting on a callback"))
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def track_callback(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._callbacks.add(future)
        if self.cancelled:
            settle(future, error=Cancelled(f"call {self.id} was cancelled"))
        future.add_done_callback(self._untrack)

    def _untrack(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._callbacks.discard(future)


def settle(future: concurrent.futures.Future[Any], value: Any = None, error: BaseException | None = None) -> None:
    """Completes a future unless another thread already did (a reply and a cancel can race)."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
    except concurrent.futures.InvalidStateError:
        pass


_current: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar("dspex_bridge_call", default=None)


def current_call() -> CallContext:
    """The call this code runs for; RuntimeError outside a command."""
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError("not inside a dspex_bridge command")
    return ctx


def current_call_or_none() -> CallContext | None:
    return _current.get()


def current_session() -> Session:
    return current_call().session


def check_cancelled() -> None:
    """No-op outside a command; raises Cancelled inside a cancelled one."""
    ctx = _current.get()
    if ctx is not None:
        ctx.check_cancelled()


def bind_context(ctx: CallContext) -> contextvars.Context:
    """A fresh copy of the current context with `ctx` as the current call."""
    context = contextvars.copy_context()
    context.run(_current.set, ctx)
    return context
