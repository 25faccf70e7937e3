// WorkerPool: a piscina worker-thread pool as a supervised GenServer. Calls are answered by deferred reply,
// so the server takes the next request while threads work; the pool is destroyed when the process exits.
// The SignatureEngine (batch validation, prompt rendering) runs on one.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TransferListItem } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ChildSpec } from './child_spec.js';
import { BadArgumentError, CallExitError, WorkerQueueFullError, WorkerTaskAbortedError, WorkerTaskError } from './errors.js';
import { GenServer, runtimeOf, type Caller, type From, type GenServerBehavior, type StartResult } from './gen_server.js';
import type { Dest, Pid, ProcessContext } from './process.js';
import { Exit, type ExitReason } from './reasons.js';
import { asProcess } from './runtime.js';

/** Options of WorkerPool.start and startLink. */
export interface WorkerPoolOptions {
  /** The worker module: an absolute path or a file: URL whose default export handles one task. */
  filename: string | URL;
  minThreads?: number;
  maxThreads?: number;
  /** Milliseconds an idle thread above minThreads lives (piscina's idleTimeout). */
  idleTimeout?: number;
  /** Tasks that may wait for a thread; 'auto' is maxThreads squared (piscina's maxQueue). */
  maxQueue?: number | 'auto';
  /** Register the pool process under this name. */
  name?: string;
  label?: string;
}

/** Options of one WorkerPool.run. */
export interface WorkerRunOptions {
  /** Aborting cancels the task: a queued task is dropped, a running one loses its thread (piscina). */
  signal?: AbortSignal;
  /** Moved, not copied, to the worker thread. */
  transferList?: readonly TransferListItem[];
  /** How long the caller waits for the result (default Infinity: use `signal` to give up). */
  timeoutMs?: number;
}

class RunRequest {
  constructor(
    readonly task: unknown,
    readonly signal: AbortSignal | undefined,
    readonly transferList: readonly TransferListItem[] | undefined,
  ) {}
}

interface PoolState {
  piscina: Piscina;
  /** Why the pool is stopping: tasks that fail from now on fail because of it, not because of their code. */
  stopping: { reason: ExitReason } | null;
  destroyed: Promise<void> | null;
}

const PISCINAS = new WeakMap<Pid, Piscina>();

/** Destroys piscina once: from terminate on an orderly stop, from the exit watch when the pool is killed. */
function destroy(state: PoolState, self: ProcessContext): Promise<void> {
  state.destroyed ??= state.piscina.destroy().catch((error: unknown) => {
    self.runtime.logger.error({ err: error, pid: String(self.pid) }, `worker pool ${self.pid}: piscina.destroy failed`);
  });
  return state.destroyed;
}

/** piscina rejection -> the runtime's typed error. */
function taskError(pool: string, error: unknown): Error {
  if (error instanceof Error && error.name === 'AbortError') return new WorkerTaskAbortedError(pool, error);
  // piscina reports a full queue with plain Errors; their text is the only thing that tells them apart.
  if (error instanceof Error && (error.message === 'Task queue is at limit' || error.message === 'No task queue available and all Workers are busy')) {
    return new WorkerQueueFullError(pool, error);
  }
  return new WorkerTaskError(pool, error);
}

const PoolServer: GenServerBehavior<PoolState, WorkerPoolOptions, RunRequest, unknown, never> = {
  init(options, self) {
    const given = options.filename;
    const filename = given instanceof URL || (typeof given === 'string' && given.startsWith('file:')) ? fileURLToPath(given) : given;
    if (typeof filename !== 'string' || !existsSync(filename)) {
      return { stop: new BadArgumentError(`worker file ${String(given)} does not exist; pass an absolute path or a file: URL.`) };
    }
    const piscina = new Piscina({
      filename,
      ...(options.minThreads === undefined ? {} : { minThreads: options.minThreads }),
      ...(options.maxThreads === undefined ? {} : { maxThreads: options.maxThreads }),
      ...(options.idleTimeout === undefined ? {} : { idleTimeout: options.idleTimeout }),
      ...(options.maxQueue === undefined ? {} : { maxQueue: options.maxQueue }),
    });
    // A thread that fails with no task on it is reported here; piscina replaces it. Unheard, it would throw.
    piscina.on('error', (error: unknown) => self.runtime.logger.error({ err: error, pid: String(self.pid) }, `worker pool ${self.pid}: a worker thread failed outside a task`));
    const state: PoolState = { piscina, stopping: null, destroyed: null };
    PISCINAS.set(self.pid, piscina);
    // terminate does not run when the pool is killed; this does, for every exit.
    self.runtime.watch(asProcess(self.pid), () => void destroy(state, self));
    return { ok: state };
  },

  handleCall(request, from: From<unknown>, state, self) {
    if (!(request instanceof RunRequest)) {
      // A stray call is the caller's mistake; crashing would fail every task in flight.
      from.fail(new BadArgumentError(`worker pool ${self.pid} got a call it does not know; use WorkerPool.run.`));
      return { noreply: true, state };
    }
    const pool = String(self.pid);
    const options = {
      ...(request.signal === undefined ? {} : { signal: request.signal }),
      ...(request.transferList === undefined ? {} : { transferList: [...request.transferList] }),
    };
    let running: Promise<unknown>;
    try {
      running = state.piscina.run(request.task, options);
    } catch (error) {
      running = Promise.reject(error); // a bad transferList and the like: the caller's error, not the pool's
    }
    running.then(
      (result) => from.reply(result),
      (error: unknown) => from.fail(state.stopping !== null ? new CallExitError(pool, state.stopping.reason) : taskError(pool, error)),
    );
    return { noreply: true, state };
  },

  handleInfo(message, state) {
    // The server traps exits so that terminate can wait for the threads; other processes' exit signals
    // still stop it, as they would stop a process that does not trap.
    if (message instanceof Exit && message.reason !== 'normal') return { stop: message.reason, state };
    return { noreply: true, state };
  },

  terminate(reason, state, self) {
    state.stopping = { reason };
    return destroy(state, self);
  },
};

/** A piscina worker-thread pool run as a process: CPU-heavy work off the event loop, supervised. */
export const WorkerPool = {
  /** Starts a pool not linked to anyone. { error } when the worker file does not exist. */
  start(caller: Caller, options: WorkerPoolOptions): Promise<StartResult> {
    return GenServer.start(caller, PoolServer, options, startOptions(options));
  },

  /** Starts a pool linked to `parent` (a supervisor). Its shutdown waits until every thread has exited. */
  startLink(parent: ProcessContext, options: WorkerPoolOptions): Promise<StartResult> {
    return GenServer.startLink(parent, PoolServer, options, startOptions(options));
  },

  /**
   * Runs `task` on a worker thread and resolves to what the worker's function returned. Rejects with
   * WorkerTaskError (the task threw or its thread died; the pool serves on), WorkerTaskAbortedError,
   * WorkerQueueFullError, NoProcError (no pool), CallExitError (the pool exited first) or CallTimeoutError.
   */
  run<R = unknown>(caller: Caller, pool: Dest, task: unknown, options: WorkerRunOptions = {}): Promise<R> {
    return GenServer.call<R>(caller, pool, new RunRequest(task, options.signal, options.transferList), options.timeoutMs ?? Infinity);
  },

  /** The piscina behind a live pool, for its metrics (utilization, histogram, threads); undefined if none. */
  piscinaOf(caller: Caller, pool: Dest): Piscina | undefined {
    const target = runtimeOf(caller).resolve(pool);
    return target === undefined ? undefined : PISCINAS.get(target);
  },

  /** A child spec that starts the pool under a supervisor (start returns { ok: pid } or { error }). */
  childSpec(id: string, options: WorkerPoolOptions, spec: Omit<ChildSpec, 'id' | 'start'> = {}): ChildSpec {
    return { ...spec, id, start: (parent) => WorkerPool.startLink(parent, options) };
  },
};

function startOptions(options: WorkerPoolOptions): { name?: string; label: string; trapExit: true } {
  return { ...(options.name === undefined ? {} : { name: options.name }), label: options.label ?? 'worker_pool', trapExit: true };
}
