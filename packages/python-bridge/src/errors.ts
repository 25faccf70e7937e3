// Typed errors of the Python bridge. Each has a stable `code` and a message that says what to do; callers
// match on the class or the code. Python's own exceptions arrive as PythonException with type and traceback.

import { DSPexError } from '@dspex/runtime';

/** Base class of every error the bridge raises; each subclass has a stable `code` (e.g. `DSPEX_QUEUE_TIMEOUT`). */
export abstract class BridgeError extends DSPexError {
  /** Whether trying again (on any worker) can succeed. */
  readonly retryable: boolean = false;
}

/** The Python command raised. `pythonType` is the exception's class name; `traceback` its formatted trace. */
export class PythonException extends BridgeError {
  readonly code: string = 'DSPEX_PYTHON_EXCEPTION';
  constructor(readonly pythonType: string, readonly pythonMessage: string, readonly traceback: string | undefined, readonly command: string) {
    super(`${command} raised ${pythonType}: ${pythonMessage}`);
  }
}

/**
 * The worker refused to reach something the pool's grant does not cover: a class outside `python.allow`, an
 * attribute a handle does not expose, a dunder name, a type annotation outside the signature grammar, a file
 * outside `python.saveDir`, or pickle. The message names what was refused.
 */
export class NotAllowed extends PythonException {
  override readonly code = 'DSPEX_NOT_ALLOWED';
  constructor(pythonMessage: string, traceback: string | undefined, command: string) {
    super('NotAllowed', pythonMessage, traceback, command);
    this.message = `${command} was refused: ${pythonMessage}. Widen the pool's grant (python.allow, python.saveDir) only for what this caller should reach.`;
  }
}

/**
 * How a worker died. `runaway`: a cancelled or timed-out call did not stop within `cancelGraceMs`, so the worker
 * was killed to free its thread; `memory`: its RSS passed `recycle.maxRssMb` while calls ran (see WorkerOverMemory);
 * `startup`: Python failed before it was ready (see WorkerStartupFailed).
 */
export type CrashKind = 'killed' | 'oom' | 'segfault' | 'abort' | 'exit' | 'heartbeat' | 'protocol' | 'recycled' | 'runaway' | 'memory' | 'startup';

/** The worker process died while the call was in flight (or before it could run). */
export class WorkerCrashed extends BridgeError {
  readonly code = 'DSPEX_WORKER_CRASHED';
  override readonly retryable = true;
  constructor(readonly kind: CrashKind, readonly detail: string, readonly worker: string) {
    super(`Python worker ${worker} died (${kind}: ${detail}) before answering; the pool restarts it. Mark the call idempotent to retry it once automatically.`);
  }
}

/**
 * The worker's Python process passed the pool's memory limit (`recycle.maxRssMb`) while calls ran, and was killed
 * at once (RSS is sampled every `rssSampleIntervalMs` while calls are in flight). Every call in flight on it gets
 * this error (an idempotent one is retried once on another worker).
 */
export class WorkerOverMemory extends BridgeError {
  readonly code = 'DSPEX_WORKER_OVER_MEMORY';
  override readonly retryable = true;
  constructor(readonly limitMb: number, readonly rssMb: number, readonly worker: string) {
    super(
      `Python worker ${worker} reached ${Math.round(rssMb)} MB of resident memory, over the pool's limit of ${limitMb} MB (recycle.maxRssMb), and was killed; the pool restarts it. Give the work less data at once, or raise recycle.maxRssMb.`,
    );
  }
}

/** The call got no result within its timeout; the work was cancelled in Python. */
export class CallTimeout extends BridgeError {
  readonly code = 'DSPEX_CALL_TIMEOUT';
  constructor(readonly command: string, readonly timeoutMs: number) {
    super(`${command} got no result within ${timeoutMs} ms; it was cancelled in Python. Raise the call's timeoutMs for slow work.`);
  }
}

/** The call waited in the pool's queue longer than the queue timeout without a free worker. */
export class QueueTimeout extends BridgeError {
  readonly code = 'DSPEX_QUEUE_TIMEOUT';
  override readonly retryable = true;
  constructor(readonly pool: string, readonly waitedMs: number) {
    super(`no worker of pool ${pool} was free within ${waitedMs} ms; add workers, raise callsPerWorker, or raise queueTimeoutMs.`);
  }
}

/** The pool's wait queue is full: the call was refused at once. */
export class PoolSaturated extends BridgeError {
  readonly code = 'DSPEX_POOL_SATURATED';
  override readonly retryable = true;
  constructor(readonly pool: string, readonly queueLimit: number) {
    super(`pool ${pool} already has ${queueLimit} calls waiting; shed load, or raise maxQueue.`);
  }
}

/** A frame broke the wire contract (malformed, oversized, unencodable). The worker is restarted if it sent it. */
export class ProtocolError extends BridgeError {
  readonly code = 'DSPEX_PROTOCOL_ERROR';
  constructor(readonly kind: string, message: string, cause?: unknown) {
    super(message, { cause });
  }
}

/** The worker a session was pinned to is gone; its Python objects are lost. Call session.rebuild(). */
export class SessionWorkerLost extends BridgeError {
  readonly code = 'DSPEX_SESSION_WORKER_LOST';
  constructor(readonly session: string, readonly worker: string) {
    super(`the worker ${worker} of session ${session} died and its Python objects went with it; call session.rebuild() and recreate them.`);
  }
}

/** strict_fail_fast affinity: the session's worker is busy. */
export class WorkerBusy extends BridgeError {
  readonly code = 'DSPEX_WORKER_BUSY';
  override readonly retryable = true;
  constructor(readonly session: string) {
    super(`the worker pinned to session ${session} is busy; retry later, or use affinity 'strict_queue' to wait for it.`);
  }
}

/** The caller aborted the call (AbortSignal); the work was cancelled in Python. */
export class CallCancelled extends BridgeError {
  readonly code = 'DSPEX_CALL_CANCELLED';
  constructor(readonly command: string) {
    super(`${command} was cancelled by its caller.`);
  }
}

/** A call the API cannot accept (empty or non-string command, non-object args, bad call options): the promise rejects with it. */
export class InvalidCall extends BridgeError {
  readonly code = 'DSPEX_INVALID_CALL';
}

/** Options or arguments the bridge cannot accept; `setting` names the pool option at fault, when one is. */
export class BridgeConfigError extends BridgeError {
  readonly code = 'DSPEX_BRIDGE_CONFIG';
  readonly setting: string | undefined;
  constructor(message: string, options: { setting?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.setting = options.setting;
  }
}

/** The pool is stopped or shutting down. */
export class PoolClosed extends BridgeError {
  readonly code = 'DSPEX_POOL_CLOSED';
  constructor(readonly pool: string) {
    super(`pool ${pool} is not running; start it (or the DSPex application) before calling it.`);
  }
}

/**
 * A value that Python would not receive equal (a lone surrogate, a function, a class instance, undefined in
 * an array, nesting past the limit; see the README's value table), refused before anything was sent.
 * `path` names it from the call's arguments (`args.items[3].name`) or a tool's result (`value...`).
 */
export class BadArguments extends BridgeError {
  readonly code = 'DSPEX_BAD_ARGUMENTS';
  constructor(readonly path: string, readonly problem: string, readonly hint: string) {
    super(`${path}: ${problem}; ${hint}. Nothing was sent to Python.`);
  }
}

/** What to do about each setting a startup failure can name. */
const STARTUP_ADVICE: Readonly<Record<string, string>> = {
  'python.commands': 'fix the module or remove it from python.commands',
  'python.grant': "fix the entry (a class path the workers can import, shaped as in the README's Security model) or remove it from python.grant",
  'python.allow': 'fix the pattern (a dotted class path, or a glob after an importable module) or remove it from python.allow',
  'python.saveDir': 'create the directory, or point python.saveDir at an existing one',
  'python.allowPickle': 'set python.saveDir too, or leave python.allowPickle out',
  'python.executable': "point python.executable (or $DSPEX_PYTHON) at a Python that has dspy and dspex_bridge installed (see the worker's stderr)",
  'python.cwd': 'point python.cwd at an existing directory',
};

/** What a startup failure carries besides its pool and worker (see WorkerStartupFailed). */
export interface StartupFailureDetails {
  /** The pool option that is wrong (`python.grant`), when the failure names one. */
  setting?: string | undefined;
  /** The value in it that is wrong: a class path, a pattern, a module, a directory. */
  entry?: string | undefined;
  /** The python.commands module (or the bridge's own) that failed to import. */
  module?: string | undefined;
  /** What Python raised: its class name (ConfigurationError for a check of the bridge's own), message and trace. */
  pythonType: string;
  pythonMessage: string;
  traceback: string;
}

/**
 * A pool whose configuration is wrong: its workers cannot start, and restarting cannot help. Found by the worker
 * before it is ready (a `python.commands` module that fails to import or defines no command, a `python.grant` or
 * `python.allow` entry that names no importable class, a `python.saveDir` that is not a directory) or by the pool
 * around the spawn (a `python.executable` or `python.cwd` that does not exist, a Python without dspex_bridge).
 * `PythonPools.start` rejects with it for an eager pool; otherwise the pool stays up, misconfigured: calls waiting
 * for a worker, and every call until the pool is started again, reject with it at once, and no worker is started
 * again (see the README, "When Python cannot start"). `setting` names the option, `entry` the value in it, `problem`
 * says what is wrong; `pythonType`, `pythonMessage` and `traceback` are what Python raised.
 */
export class WorkerStartupFailed extends BridgeError {
  readonly code = 'DSPEX_WORKER_STARTUP_FAILED';
  readonly setting: string | undefined;
  readonly entry: string | undefined;
  readonly module: string | undefined;
  readonly pythonType: string;
  readonly pythonMessage: string;
  readonly traceback: string;

  constructor(
    readonly pool: string,
    readonly worker: string,
    readonly problem: string,
    details: StartupFailureDetails,
  ) {
    const advice = (details.setting === undefined ? undefined : STARTUP_ADVICE[details.setting]) ?? "see the worker's stderr (logged at warn level)";
    super(`pool ${pool} cannot start its Python workers: ${problem}; ${advice}, then start the pool again.`);
    this.setting = details.setting;
    this.entry = details.entry;
    this.module = details.module;
    this.pythonType = details.pythonType;
    this.pythonMessage = details.pythonMessage;
    this.traceback = details.traceback;
  }
}

/** The Session was closed: a closed Session takes no more calls, and its calls still waiting for a worker were not run. */
export class SessionClosed extends BridgeError {
  readonly code = 'DSPEX_SESSION_CLOSED';
  constructor(readonly session: string, readonly command: string) {
    super(`${command} was not run: session ${session} is closed. Open a new session with pool.session() for more calls.`);
  }
}
