"""The worker's core: reads frames from Node's pipe, runs calls concurrently, writes replies on its own pipe.

Threads: a reader thread reads the input pipe with blocking reads and runs the calls of `inline` commands
(`ping`, and any sync command registered `inline=True`) itself, writing their replies at the end of each read:
a no-op call costs one read, one decode, one encode and one write, like a bare pipe echo. Every other frame goes
to the asyncio event loop, which dispatches it, runs async commands and every other terminal reply; a pool runs
sync commands. Frames are dispatched in the order they were read: the reader runs a call itself only when the
loop has dispatched every frame read before it. A long async command must await now and then, or the loop
cannot answer heartbeat `ping` frames meanwhile. Replies are gathered and written once per loop pass (or at
once when only one call is in flight, so one call gets the shortest round trip), in the order they were sent
from any thread; all writes are blocking writes under one lock.

Contract per call id: zero or more `chunk`s, then exactly one `result` or `error`; nothing after it. Whatever
fails while producing or encoding a reply (a result, chunk or error that cannot be encoded, a message that is not
valid UTF-8, a frame over the limit) becomes an `error` reply for that call: no path leaves a call unanswered.
Every `cancel` is answered, besides the call's `Cancelled` error, by one `released` once the call's code has
really stopped (at once if it already had): Node kills a worker whose cancelled call never releases.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import io
import itertools
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .allowlist import AllowList
from .context import DEFAULT_CREDITS, CallContext, bind_context, settle
from .errors import BadRequest, BridgeError, Cancelled, CallbackError, Unserializable, error_map, safe_text
from .framing import (
    BAD_MESSAGE,
    DEFAULT_MAX_FRAME_BYTES,
    FRAME_TOO_LARGE,
    TRUNCATED,
    FrameDecoder,
    ProtocolError,
    encode_frame,
    write_all,
)
from .registry import REGISTRY, Command, Registry
from .session import Session, SessionStore
from .tracing import start_trace, with_spans
from .versions import versions
from .wire import encode_default

EXIT_CLEAN = 0
EXIT_STARTUP = 2
EXIT_PROTOCOL = 3


@dataclass(frozen=True)
class Final:
    """Yielded by a stream to end it with `value` as the final result (async generators cannot `return` one)."""

    value: Any


@dataclass
class ServerOptions:
    run_id: str
    worker_id: str
    in_fd: int = 3
    out_fd: int = 4
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    allow: AllowList = field(default_factory=AllowList)
    max_threads: int = 16


class Server:
    def __init__(self, options: ServerOptions, registry: Registry = REGISTRY) -> None:
        self.options = options
        self.registry = registry
        self.allow = options.allow
        self.worker_id = options.worker_id
        self.run_id = options.run_id
        self.sessions = SessionStore(host=self)
        self.calls: dict[int, CallContext] = {}
        self._callbacks: dict[int, concurrent.futures.Future[Any]] = {}
        self._callback_ids = itertools.count(1)
        self._out = _Outbox()
        # Blocking writes of the output pipe, one at a time: each writes every frame queued so far, in order.
        self._write_lock = threading.Lock()
        self._output_broken = False
        self._decoder = FrameDecoder(options.max_frame_bytes)
        self._input_broken = False
        # Frames the reader thread handed to the loop, and those the loop has dispatched: each count is written
        # by one thread only, so equal counts (read without a lock) mean nothing read earlier waits for the loop.
        self._posted = 0
        self._dispatched = 0
        self._reader_thread_id: int | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(options.max_threads, thread_name_prefix="dspex-cmd")
        # Calls answered Cancelled whose code still runs (a sync command ignoring its cancel flag): id -> ctx.
        self.unreleased: dict[int, CallContext] = {}
        # Since when (monotonic s) every thread of the pool has been busy with calls waiting for one; None if not.
        self._saturated_since: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread_id: int | None = None
        self._exit: asyncio.Future[int] | None = None

    # -- output ----------------------------------------------------------------------------------------------
    def send(self, message: dict[str, Any], enforce_limit: bool = True) -> None:
        """Encodes on the caller's thread (so encoding errors reach the caller) and queues for output.
        Frames over max-frame-bytes raise ProtocolError(FrameTooLarge), except `ready` and `fatal`."""
        exempt = not enforce_limit or message.get("t") in ("ready", "fatal")
        limit = 1 << 32 if exempt else self.options.max_frame_bytes
        # With at most this call in flight nothing else will join the write: send it now, not at the pass's end.
        self._out.put(encode_frame(message, limit, default=encode_default), urgent=len(self.calls) <= 1)

    def _flush_output(self, more: list[bytes] | None = None) -> None:
        """From any thread: writes every queued frame, in order, then `more` (the reader's replies), in one blocking
        write. A broken pipe means Node is gone: the worker leaves as on EOF."""
        with self._write_lock:
            frames = self._out.take()
            if more:
                frames += more
            if not frames or self._output_broken:
                return
            try:
                write_all(self.options.out_fd, frames[0] if len(frames) == 1 else b"".join(frames))
            except OSError:
                self._output_broken = True
                self.request_exit(EXIT_CLEAN)

    # -- input -----------------------------------------------------------------------------------------------
    def _read_input(self) -> None:
        """The reader thread: blocking reads of the input pipe until EOF or a protocol error. A call of an inline
        command runs here when every frame read before it has been dispatched; the rest goes to the loop, one
        hand-off per read. The replies of a read leave in one write. After a protocol error nothing more is read:
        the stream cannot be trusted past a bad frame."""
        self._reader_thread_id = self._out.reader_thread_id = threading.get_ident()
        loop = self._loop
        assert loop is not None
        # One buffer for every read: os.read(fd, 256 KiB) would allocate (and, shrinking it, mmap and unmap) a
        # 256 KiB bytes object per read, which cost more than the call it carried.
        buffer = bytearray(READ_BYTES)
        view = memoryview(buffer)
        pipe = io.FileIO(self.options.in_fd, "rb", closefd=False)
        try:
            while not self._input_broken:
                try:
                    size = pipe.readinto(buffer) or 0
                except OSError:
                    size = 0
                if size == 0:
                    loop.call_soon_threadsafe(self._on_input_end)
                    return
                try:
                    # The decoder copies what it keeps (a partial frame); the messages are decoded before the next read.
                    messages = self._decoder.feed(view[:size])
                except ProtocolError as exc:
                    self._input_broken = True
                    loop.call_soon_threadsafe(self._fatal, exc)
                    return
                for_loop: list[dict[Any, Any]] = []
                replies: list[bytes] = []
                for message in messages:
                    if for_loop or self._posted != self._dispatched or not self._try_inline(message, replies):
                        for_loop.append(message)
                    elif len(replies) >= FLUSH_EVERY:
                        # A long burst is answered as it goes, so Node works on the first replies meanwhile.
                        self._flush_output(replies)
                        replies = []
                self._flush_output(replies)
                if for_loop:
                    self._posted += len(for_loop)
                    loop.call_soon_threadsafe(self._dispatch_batch, for_loop)
        except RuntimeError:
            return  # the loop is closed: the worker is exiting

    def _dispatch_batch(self, messages: list[dict[Any, Any]]) -> None:
        """On the loop thread: frames the reader handed over, dispatched in the order they were read."""
        try:
            for message in messages:
                if self._input_broken:
                    return
                try:
                    self._dispatch_safely(message)
                except Exception:  # noqa: BLE001 - a bug in one dispatch must not stop the input
                    traceback.print_exc()
        finally:
            self._dispatched += len(messages)

    def _on_input_end(self) -> None:
        if self._input_broken:
            return
        self._input_broken = True
        if self._decoder.pending:
            self._fatal(ProtocolError(TRUNCATED, "input ended inside a frame"))
        else:
            self.request_exit(EXIT_CLEAN)

    # -- lifecycle -------------------------------------------------------------------------------------------
    def run(self) -> int:
        """Sends `ready`, serves until EOF / fatal error / orphaning, and returns the exit code."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._loop_thread_id = threading.get_ident()
        self._exit = loop.create_future()
        for fd in (self.options.in_fd, self.options.out_fd):
            os.set_blocking(fd, True)
        self._out.attach(loop, self._loop_thread_id, self._flush_output)
        self.send({"t": "ready", "pid": os.getpid(), "worker_id": self.worker_id, "versions": versions()})
        threading.Thread(target=self._read_input, name="dspex-reader", daemon=True).start()
        try:
            code = loop.run_until_complete(self._exit)
            for ctx in list(self.calls.values()):
                ctx.cancel()
            for future in list(self._callbacks.values()):
                settle(future, error=Cancelled("worker is exiting"))
        finally:
            self._flush_output()
        return code

    def request_exit(self, code: int) -> None:
        """Stops serving with exit `code`. Thread-safe; the first request wins."""
        loop = self._loop
        if loop is None:
            return
        if threading.get_ident() != self._loop_thread_id:
            loop.call_soon_threadsafe(self.request_exit, code)
            return
        if self._exit is not None and not self._exit.done():
            self._exit.set_result(code)

    def _fatal(self, exc: ProtocolError) -> None:
        self._input_broken = True
        try:
            self.send({"t": "fatal", "error": {"type": exc.kind, "message": str(exc), "traceback": ""}})
        finally:
            self.request_exit(EXIT_PROTOCOL)

    # -- CallbackHost ----------------------------------------------------------------------------------------
    def on_loop_thread(self) -> bool:
        """True on the threads that must never wait for Node: the loop, and the reader (it reads Node's answer)."""
        ident = threading.get_ident()
        return ident == self._loop_thread_id or ident == self._reader_thread_id

    def start_callback(self, session_id: str | None, name: str, args: dict[str, Any]) -> concurrent.futures.Future[Any]:
        callback_id = next(self._callback_ids)
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._callbacks[callback_id] = future
        future.add_done_callback(lambda _f: self._callbacks.pop(callback_id, None))
        try:
            self.send({"t": "callback", "id": callback_id, "session": session_id, "name": name, "args": args})
        except Exception as exc:
            settle(future, error=exc)
        return future

    # -- dispatch (event loop thread) ------------------------------------------------------------------------
    def _dispatch_safely(self, message: dict[Any, Any]) -> None:
        try:
            self._dispatch(message)
        except ProtocolError as exc:
            self._fatal(exc)

    def _dispatch(self, message: dict[Any, Any]) -> None:
        kind = message["t"]
        if kind == "call":
            self._on_call(message)
        elif kind == "ping":
            self.send({"t": "pong", "seq": message.get("seq"), "busy_ms": self._busy_ms()})
        elif kind == "credit":
            ctx = self.calls.get(_message_id(message))
            n = message.get("n")
            if ctx is not None and isinstance(n, int):
                ctx.gate.grant(n)
        elif kind == "cancel":
            call_id = _message_id(message)
            ctx = self.calls.get(call_id)
            if ctx is None:
                self.send({"t": "released", "id": call_id})  # finished before the cancel came: nothing runs
                return
            self.unreleased[call_id] = ctx
            ctx.cancel()
            self._finish_error(ctx, Cancelled(f"call {ctx.id} ({ctx.cmd}) was cancelled"))
            self._release_when_stopped(ctx)
        elif kind in ("callback_result", "callback_error"):
            future = self._callbacks.pop(_message_id(message), None)
            if future is None or future.done():
                return  # a late reply for a callback whose call was cancelled
            if kind == "callback_result":
                settle(future, message.get("value"))
            else:
                raw_error = message.get("error")
                remote: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
                text = f"{remote.get('type', 'Error')}: {remote.get('message', '')}"
                settle(future, error=CallbackError(text, remote))
        else:
            print(f"dspex_bridge: ignoring message of unknown kind {kind!r}", file=sys.stderr, flush=True)

    def _open_call(self, message: dict[Any, Any]) -> CallContext | None:
        """The context of a well-formed call; None once a malformed one (or a session that cannot be had) has been
        answered with an error. From the loop or the reader thread."""
        call_id = _message_id(message)
        cmd = message.get("cmd")
        args = message.get("args")
        session_id = message.get("session")
        credits = message.get("credits", DEFAULT_CREDITS)
        problem = None
        if not isinstance(cmd, str):
            problem = 'call needs a string "cmd"'
        elif args is not None and not isinstance(args, dict):
            problem = '"args" must be a map'
        elif session_id is not None and not isinstance(session_id, str):
            problem = '"session" must be a string or null'
        elif not isinstance(credits, int) or isinstance(credits, bool) or credits < 0:
            problem = '"credits" must be a non-negative int'
        elif call_id in self.calls:
            problem = f"call id {call_id} is already in flight"
        if problem is not None:
            self.send({"t": "error", "id": call_id, "error": error_map(BadRequest(problem))})
            return None
        try:
            session = self.sessions.get(session_id)
        except Exception as exc:  # noqa: BLE001 - answered like any failure of the call
            self.send({"t": "error", "id": call_id, "error": error_map(exc)})
            return None
        return CallContext(call_id, cmd, session, credits=credits, worker=self)

    def _on_call(self, message: dict[Any, Any]) -> None:
        ctx = self._open_call(message)
        if ctx is None:
            return
        args = message.get("args") or {}
        self.calls[ctx.id] = ctx
        if "trace" in message:
            start_trace(ctx, message["trace"])
        try:
            command = self.registry.get(ctx.cmd)
            command.bind(args)
            if command.ordered or command.inline:
                self._run_ordered(ctx, command, args)
                return
            assert self._loop is not None
            ctx.task = self._loop.create_task(self._run_call(ctx, command, args), context=bind_context(ctx))
        except BaseException as exc:  # noqa: BLE001 - every failure becomes an error frame
            self._finish_error(ctx, exc)

    def _try_inline(self, message: dict[Any, Any], replies: list[bytes]) -> bool:
        """On the reader thread: runs a well-formed call of an inline command at once and adds its reply frame to
        `replies`; False for any other frame, a malformed call included (the loop dispatches and answers it). The
        call is never in `calls`: it ends before the next frame is read, so no cancel can find it running."""
        if message.get("t") != "call":
            return False
        command = self.registry.inline_command(message.get("cmd"))
        call_id = message.get("id")
        args = message.get("args")
        session_id = message.get("session")
        if (
            command is None
            or type(call_id) is not int
            or call_id in self.calls
            or not (args is None or type(args) is dict)
            or not (session_id is None or type(session_id) is str)
            or "credits" in message
        ):
            return False
        try:
            ctx = CallContext(call_id, command.name, self.sessions.get(session_id), worker=self)
        except Exception as exc:  # noqa: BLE001 - answered like any failure of the call
            self.send({"t": "error", "id": call_id, "error": error_map(exc)})
            return True
        try:
            if args is None:
                args = {}
            command.bind(args)
            value = bind_context(ctx).run(command.fn, **args)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes an error frame
            self._finish_error(ctx, exc)
            return True
        try:
            replies.append(encode_frame({"t": "result", "id": call_id, "value": value}, self.options.max_frame_bytes, default=encode_default))
        except BaseException as exc:  # noqa: BLE001 - a result that cannot be sent becomes an error reply
            self._finish_error(ctx, _unsendable("the result", exc))
        return True

    def _run_ordered(self, ctx: CallContext, command: Command, args: dict[str, Any]) -> None:
        """An ordered command (close_session) or an inline one (ping) runs here, as its frame is dispatched: every
        frame read after it sees its effect, whatever threads the calls before it still run on."""
        try:
            value = bind_context(ctx).run(command.fn, **args)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes an error frame
            self._finish_error(ctx, exc)
        else:
            self._finish_result(ctx, value)

    def free_when_idle(self, session: Session) -> int:
        """For close_session, on the loop thread: frees a session already detached from the store once the calls
        running in it end (at once if none do), so a call sent before the close keeps its objects to the end.
        Returns how many objects the session holds now."""
        held = len(session.objects)
        running = [c.task for c in self.calls.values() if c.session is session and c.task is not None and not c.task.done()]
        left = len(running)

        def one_ended(_task: asyncio.Task[Any]) -> None:
            nonlocal left
            left -= 1
            if left == 0:
                session.clear()

        for task in running:
            task.add_done_callback(one_ended)
        if left == 0:
            session.clear()
        return held

    async def _run_call(self, ctx: CallContext, command: Command, args: dict[str, Any]) -> None:
        try:
            if command.is_async and command.stream:
                value = await self._stream_async(ctx, command, args)
            elif command.is_async:
                value = await command.fn(**args)
            else:
                # run_in_executor, with the thread's future kept: a cancel waits on it to report `released`.
                ctx.thread_future = self._executor.submit(bind_context(ctx).run, self._run_sync, ctx, command, args)
                value = await asyncio.wrap_future(ctx.thread_future, loop=self._loop)
            if ctx.cancelled:
                raise Cancelled(f"call {ctx.id} ({ctx.cmd}) was cancelled")
        except asyncio.CancelledError:
            self._finish_error(ctx, Cancelled(f"call {ctx.id} ({ctx.cmd}) was cancelled"))
            return
        except BaseException as exc:  # noqa: BLE001 - every failure becomes an error frame
            self._finish_error(ctx, exc)
        else:
            self._finish_result(ctx, value)
        finally:
            # ctx -> task -> its contextvars.Context -> ctx is a reference cycle: left alone, each call's objects
            # wait for the cyclic GC (about 6 us a call) instead of being freed as soon as the call ends.
            ctx.task = None
            ctx.thread_future = None

    # -- running commands ------------------------------------------------------------------------------------
    def _run_sync(self, ctx: CallContext, command: Command, args: dict[str, Any]) -> Any:
        if not command.stream:
            return command.fn(**args)
        produced = command.fn(**args)
        iterator: Iterator[Any] = iter(produced)
        seq = 0
        try:
            while True:
                # Wait for a credit before resuming the generator, so it is paused, not just its output.
                ctx.gate.acquire()
                ctx.check_cancelled()
                try:
                    item = next(iterator)
                except StopIteration as stop:
                    return stop.value
                if isinstance(item, Final):
                    return item.value
                self._emit_chunk(ctx, seq, item)
                seq += 1
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    async def _stream_async(self, ctx: CallContext, command: Command, args: dict[str, Any]) -> Any:
        produced = command.fn(**args)
        if inspect.isawaitable(produced):
            produced = await produced
        if not hasattr(produced, "__aiter__"):
            produced = _as_async(produced)
        iterator = produced.__aiter__()
        seq = 0
        try:
            while True:
                await ctx.gate.acquire_async()
                try:
                    item = await iterator.__anext__()
                except StopAsyncIteration:
                    return None
                if isinstance(item, Final):
                    return item.value
                self._emit_chunk(ctx, seq, item)
                seq += 1
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()

    # -- replies ---------------------------------------------------------------------------------------------
    def _emit(self, ctx: CallContext, message: dict[str, Any], terminal: bool, enforce_limit: bool = True) -> None:
        with ctx.emit_lock:
            if ctx.finished:
                if terminal:
                    return
                raise Cancelled(f"call {ctx.id} already finished")
            self.send(message, enforce_limit)  # raises before `finished` is set if the message cannot be encoded
            if terminal:
                ctx.finished = True
        if terminal and self.calls.get(ctx.id) is ctx:
            del self.calls[ctx.id]

    def _emit_chunk(self, ctx: CallContext, seq: int, value: Any) -> None:
        try:
            self._emit(ctx, {"t": "chunk", "id": ctx.id, "seq": seq, "value": value}, terminal=False)
        except Cancelled:
            raise
        except BaseException as exc:  # noqa: BLE001 - the stream ends with an error reply instead
            raise _unsendable(f"chunk {seq}", exc) from exc

    def _finish_result(self, ctx: CallContext, value: Any) -> None:
        try:
            self._emit(ctx, with_spans(ctx, {"t": "result", "id": ctx.id, "value": value}), terminal=True)
        except BaseException as exc:  # noqa: BLE001 - a result that cannot be sent becomes an error reply
            self._finish_error(ctx, _unsendable("the result", exc))

    def _finish_error(self, ctx: CallContext, exc: BaseException) -> None:
        """Sends the call's terminal error. Never raises and never leaves the call unanswered: error_map makes
        the text valid UTF-8 and cuts it at its limits; if even that frame cannot be sent (a tiny frame limit),
        a short one goes out past the limit."""
        try:
            self._emit(ctx, with_spans(ctx, {"t": "error", "id": ctx.id, "error": error_map(exc)}), terminal=True)
        except BaseException:  # noqa: BLE001
            kind = exc.type if isinstance(exc, BridgeError) else type(exc).__name__
            short = {"type": safe_text(str(kind))[:200], "message": error_map(exc)["message"][:1000], "traceback": ""}
            try:
                self._emit(ctx, {"t": "error", "id": ctx.id, "error": short}, terminal=True, enforce_limit=False)
            except BaseException:  # noqa: BLE001 - nothing above can fail on plain short strings; say so if it did
                traceback.print_exc()
        finally:
            if self.calls.get(ctx.id) is ctx:
                del self.calls[ctx.id]

    # -- cancelled calls: `released` -------------------------------------------------------------------------
    def _release_when_stopped(self, ctx: CallContext) -> None:
        """On the loop thread, after a cancel: sends `released` once the call's code has stopped running. A sync
        command runs until its thread returns (or never starts, if it was still waiting for a thread); an async
        command until its task is done."""
        future = ctx.thread_future
        task = ctx.task
        if future is not None:
            future.add_done_callback(lambda _f: self._release(ctx))
        elif task is not None and not task.done():
            # The task may still submit a thread (it had not started when the cancel came): wait on that too.
            task.add_done_callback(lambda _t: self._release_when_stopped(ctx) if ctx.thread_future else self._release(ctx))
        else:
            self._release(ctx)

    def _release(self, ctx: CallContext) -> None:
        """From any thread: the cancelled call's code stopped. At most once per call."""
        if self.unreleased.pop(ctx.id, None) is not None:
            self.send({"t": "released", "id": ctx.id})

    def _busy_ms(self) -> int:
        """How long every thread has been busy with calls still waiting for one (0 when not saturated); read at
        each ping, so the figure is as fresh as the heartbeat."""
        waiting = self._executor._work_queue.qsize()  # noqa: SLF001 - the executor exposes no other measure
        if waiting == 0:
            self._saturated_since = None
            return 0
        now = time.monotonic()
        if self._saturated_since is None:
            self._saturated_since = now
        return int((now - self._saturated_since) * 1000)

    def call_table(self, excluding: int | None = None) -> dict[str, int]:
        """Sizes of the worker's call tables (tests assert they return to empty): calls in flight (less the call
        `excluding`, the one asking), callbacks awaiting Node, cancelled calls whose code still runs, sync calls
        waiting for a thread."""
        return {
            "calls": len(self.calls) - (1 if excluding in self.calls else 0),
            "callbacks": len(self._callbacks),
            "unreleased": len(self.unreleased),
            "waiting_for_thread": self._executor._work_queue.qsize(),  # noqa: SLF001
        }


def _unsendable(what: str, exc: BaseException) -> BaseException:
    """The error reply for a value that could not be encoded or sent: the encoder's own typed error (a
    BridgeError naming the bad value's path) as it is, anything else as Unserializable naming its type."""
    if isinstance(exc, BridgeError) and not isinstance(exc, Unserializable):
        return exc
    if isinstance(exc, ProtocolError):
        return Unserializable(f"{what} cannot be sent: {exc}")
    detail = str(exc) if isinstance(exc, Unserializable) else f"{type(exc).__name__}: {exc}"
    return Unserializable(f"{what} cannot be encoded: {detail}")


#: Frames queued on the loop or reader thread that are written at once instead of at the end of the pass or read.
FLUSH_EVERY = 32
#: The most the reader thread reads at once (a burst of calls is decoded and answered per read).
READ_BYTES = 256 * 1024


class _Outbox:
    """Frames waiting for the output pipe, in the order they were sent from any thread. A send on the loop
    schedules one flush for the end of the current loop pass (so the replies of one pass go out in one write); the
    reader thread flushes after each read; a send from another thread wakes the loop for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frames: list[bytes] = []
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread_id: int | None = None
        self.reader_thread_id: int | None = None
        self._flush: Callable[[], None] = lambda: None

    def attach(self, loop: asyncio.AbstractEventLoop, loop_thread_id: int, flush: Callable[[], None]) -> None:
        self._loop, self._loop_thread_id, self._flush = loop, loop_thread_id, flush

    def put(self, frame: bytes, urgent: bool = False) -> None:
        ident = threading.get_ident()
        on_loop = ident == self._loop_thread_id
        on_reader = ident == self.reader_thread_id
        with self._lock:
            self._frames.append(frame)
            # A long pass (a burst of calls) writes as it goes, so Node works on the first replies meanwhile.
            many = len(self._frames) >= FLUSH_EVERY
            flush_now = (on_loop and (urgent or many)) or (on_reader and many)
            if flush_now or on_reader or self._flush_scheduled or self._loop is None:
                schedule = False
            else:
                schedule = self._flush_scheduled = True
        if flush_now:
            self._flush()
        elif schedule:
            if on_loop:
                self._loop.call_soon(self._flush)
            else:
                self._loop.call_soon_threadsafe(self._flush)

    def take(self) -> list[bytes]:
        with self._lock:
            frames, self._frames = self._frames, []
            self._flush_scheduled = False
        return frames


async def _as_async(iterable: Any) -> Any:
    for item in iterable:
        yield item


def _message_id(message: dict[Any, Any]) -> int:
    """Ids are ints; an integral float (what a JS encoder may send for big numbers) is accepted as its int."""
    value = message.get("id")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError(BAD_MESSAGE, f'{message.get("t")!r} message needs an int "id", got {value!r}')
    return value


__all__ = ["EXIT_CLEAN", "EXIT_PROTOCOL", "EXIT_STARTUP", "FRAME_TOO_LARGE", "Final", "Server", "ServerOptions"]
