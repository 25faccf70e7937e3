// PythonWorker: a GenServer owning one Python process (a runtime Port with two extra pipes for frames).
// It writes call frames for the jobs the manager sends it, settles them from result frames, pings the
// worker, answers Python's callbacks to Node tools, and exits with a classified reason when Python dies. It also
// stops runaway work: a cancelled call that Python does not report `released` within the grace kills the worker,
// and while calls run the process's RSS is sampled and a worker over its limit is killed at once.

import { GenServer, Exit, Port, PortCommandNotFoundError, PortSpawnError, isShutdown, type ChildSpec, type GenServerBehavior, type NoReplyResult, type PortHandle, type Pid, type ProcessContext } from '@dspex/runtime';
import { nanoid } from 'nanoid';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CallCancelled, CallTimeout, NotAllowed, PythonException, WorkerStartupFailed, type CrashKind, type StartupFailureDetails } from './errors.js';
import { Job } from './job.js';
import { CallTable } from './job_table.js';
import type { ResolvedPoolOptions } from './options.js';
import type { ManagerBoard } from './pool_manager.js';
import { classifyPortExit, CloseSession, exitWith, type WorkerExit, type WorkerLane } from './manager_protocol.js';
import type { PoolTelemetry } from './telemetry.js';
import { FrameDecoder, encodeFrame, type NodeMessage, type WireError, type WorkerMessage } from './wire.js';

/** A tool Python code may call back into (a ReAct tool written in TypeScript). */
export type NodeTool = (args: Record<string, unknown>) => unknown;

/** The sizes of one worker's call tables on the Node side (see PythonPool.callTables). */
export interface WorkerCallTable {
  worker: string;
  /** Calls sent to Python and not answered yet. */
  calls: number;
  /** Cancelled or timed-out calls whose `released` has not come yet (each has a grace timer). */
  cancelling: number;
  /** close_session calls in flight. */
  closing: number;
}

/** What every worker of a pool shares: options, the run id, tools per session, telemetry. */
export interface PoolShared {
  options: ResolvedPoolOptions;
  runId: string;
  managerName: string;
  tools: Map<string, Map<string, NodeTool>>;
  telemetry: PoolTelemetry;
  /** Each live worker's call tables, by worker id, read without a message (tests, diagnostics). */
  callTables: Map<string, () => WorkerCallTable>;
  /** Set when a worker cannot start (the configuration is wrong): no slot spawns Python again until the pool's subtree is started again. */
  startupFailure?: WorkerStartupFailed;
  /** The running manager's board (see ManagerBoard), for PythonPool's calls without a mailbox hop. */
  board?: ManagerBoard | null;
  /** Started by PythonPools.start (not placed in a tree by childSpec): its stop frees its name. */
  standalone?: boolean;
}

interface State {
  shared: PoolShared;
  id: string;
  slot: number;
  port: PortHandle;
  pending: CallTable<Job>;
  /** close_session calls in flight: call id -> session. */
  closing: Map<number, string>;
  /** Cancelled or timed-out calls Python has not reported `released` yet: call id -> grace timer. */
  cancelling: Map<number, ReturnType<typeof setTimeout>>;
  /** Samples RSS while calls are in flight (only with recycle.maxRssMb); stops itself when none are. */
  rssTimer: ReturnType<typeof setInterval> | undefined;
  nextId: number;
  ready: boolean;
  spawnedAt: number;
  served: number;
  missed: number;
  pingSeq: number;
  draining: boolean;
  /** Frames gathered since the last write to Python; 0 when nothing waits (see write). */
  corked: number;
  heartbeat: ReturnType<typeof setInterval> | undefined;
  startTimer: ReturnType<typeof setTimeout> | undefined;
  /** Jobs written with no message (see ManagerBoard); open while the worker is ready and not draining or stopping. */
  lane: WorkerLane;
  /** Set when the worker starts to stop: from then on jobs and frames go through the mailbox. */
  stopping: boolean;
  /** Frames messages sent to the mailbox and not handled yet: while any wait, later frames queue behind them. */
  framesQueued: number;
  /** The last lines Python wrote on stderr before its ready frame: why it exited, if it exits before (see exitedEarly). */
  stderrTail: string[];
}

class Frames {
  constructor(readonly messages: WorkerMessage[]) {}
}
class Fault {
  constructor(readonly kind: CrashKind, readonly detail: string, readonly memory?: { rssMb: number; limitMb: number }) {}
}
class HeartbeatTick {}



let pageBytes: number | undefined;

/** The kernel's page size, which /proc/<pid>/statm counts in: calibrated once against /proc/self/status. */
function pageSize(): number {
  if (pageBytes !== undefined) return pageBytes;
  pageBytes = 4096;
  try {
    const pages = Number(readFileSync('/proc/self/statm', 'latin1').split(' ')[1]);
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'latin1'))?.[1]);
    const ratio = (kb * 1024) / pages;
    if (ratio > 0) pageBytes = [4096, 16384, 65536].reduce((best, size) => (Math.abs(size - ratio) < Math.abs(best - ratio) ? size : best));
  } catch {
    // Not Linux: statm does not exist either, and rssMb answers undefined.
  }
  return pageBytes;
}

/** Resident memory of an OS process in MB, from /proc/<pid>/statm (Linux; one small read); undefined elsewhere. */
export function rssMb(osPid: number): number | undefined {
  try {
    const resident = Number(readFileSync(`/proc/${osPid}/statm`, 'latin1').split(' ')[1]);
    return Number.isFinite(resident) ? (resident * pageSize()) / (1024 * 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** Frames of one burst that go out together; a longer burst is written in parts (see write). */
const FLUSH_EVERY = 32;

/**
 * Queues one frame for Python. Frames written in one turn of the event loop (a scheduler tick runs many calls)
 * leave in one writev at its end: a syscall per call, and a wake-up of Python per call, cost more than the
 * call itself.
 */
function write(state: State, message: NodeMessage): void {
  const frame = encodeFrame(message, state.shared.options.maxFrameBytes);
  const out = state.port.fds[0]!.writable!;
  if (state.corked === 0) {
    out.cork();
    process.nextTick(uncork, state);
  }
  out.write(frame);
  // A long burst goes out in parts, so Python starts on the first calls while Node encodes the rest.
  if (++state.corked % FLUSH_EVERY === 0) {
    out.uncork();
    out.cork();
  }
}

function uncork(state: State): void {
  state.corked = 0;
  state.port.fds[0]!.writable!.uncork();
}

const behavior: GenServerBehavior<State, { shared: PoolShared; slot: number }, never, unknown, never> = {
  async init({ shared, slot }, self) {
    const { options } = shared;
    const id = `${options.name}-${slot}-${nanoid(6)}`;
    const args = ['-u', '-m', 'dspex_bridge.worker', '--run-id', shared.runId, '--worker-id', id, '--max-frame-bytes', String(options.maxFrameBytes)];
    if (options.commands.length > 0) args.push('--commands', options.commands.join(','));
    if (options.allow.length > 0) args.push('--allow', options.allow.join(','));
    if (options.grant !== undefined) args.push('--grant', JSON.stringify(options.grant));
    if (options.maxThreads !== 16) args.push('--max-threads', String(options.maxThreads));
    if (options.saveDir !== undefined) args.push('--save-dir', options.saveDir);
    if (options.allowPickle) args.push('--allow-pickle');
    const device = options.devices.length > 0 ? options.devices[slot % options.devices.length] : undefined;
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ...options.env,
      DSPEX_BRIDGE_IN_FD: '3',
      DSPEX_BRIDGE_OUT_FD: '4',
      PYTHONUNBUFFERED: '1',
      ...(device === undefined ? {} : { CUDA_VISIBLE_DEVICES: device }),
    };
    // What only the spawn can tell: a wrong one is a startup failure (no Python to restart), not a crash.
    const cwdProblem = options.cwd === undefined ? undefined : directoryProblem(options.cwd);
    if (cwdProblem !== undefined) {
      startupFailed(shared, id, `python.cwd ${JSON.stringify(options.cwd)} ${cwdProblem}`, { setting: 'python.cwd', entry: options.cwd, pythonType: 'ConfigurationError', pythonMessage: cwdProblem, traceback: '' }, self);
      return { ignore: true };
    }
    let port: PortHandle;
    try {
      port = await Port.openLink(self, {
        command: options.executable,
        args,
        env,
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        extraFds: 2,
        label: `python:${id}`,
        killTimeoutMs: 1000,
      });
    } catch (error) {
      if (!(error instanceof PortCommandNotFoundError || error instanceof PortSpawnError)) throw error;
      const problem = error instanceof PortCommandNotFoundError ? 'does not exist (or is not on PATH)' : `cannot be run (${error.message})`;
      startupFailed(shared, id, `python.executable ${JSON.stringify(options.executable)} ${problem}`, { setting: 'python.executable', entry: options.executable, pythonType: error.name, pythonMessage: error.message, traceback: '' }, self);
      return { ignore: true };
    }
    const state: State = {
      shared, id, slot, port, pending: new CallTable<Job>(), closing: new Map(), cancelling: new Map(), rssTimer: undefined, nextId: 1, ready: false,
      spawnedAt: performance.now(), served: 0, missed: 0, pingSeq: 0, draining: false, corked: 0, heartbeat: undefined, startTimer: undefined,
      lane: { open: () => laneOpen(state, self), run: (job) => runJob(job, state, self) }, stopping: false, framesQueued: 0, stderrTail: [],
    };
    shared.callTables.set(id, () => ({ worker: id, calls: state.pending.size, cancelling: state.cancelling.size, closing: state.closing.size }));
    const decoder = new FrameDecoder(options.maxFrameBytes);
    const rt = self.runtime;
    const frames = port.fds[1]!.readable!;
    frames.on('data', (chunk: Buffer) => {
      const batch: WorkerMessage[] = [];
      try {
        decoder.push(chunk, (m) => batch.push(m));
      } catch (error) {
        queueFrames(batch, 0, state, self);
        rt.send(self.pid, new Fault('protocol', (error as Error).message));
        return;
      }
      if (batch.length > 0) queueFrames(batch, settleHere(batch, state, self), state, self);
    });
    // A frame cut off by the end of the stream is a protocol error, not just a crash.
    frames.on('end', () => {
      try {
        decoder.end();
      } catch (error) {
        rt.send(self.pid, new Fault('protocol', (error as Error).message));
      }
    });
    logLines(port.stdout, (line) => rt.logger.info({ pool: options.name, worker: id, stream: 'stdout' }, line));
    logLines(port.stderr, (line) => {
      rt.logger.warn({ pool: options.name, worker: id, stream: 'stderr' }, line);
      if (state.ready) return;
      state.stderrTail.push(line);
      if (state.stderrTail.length > STDERR_TAIL_LINES) state.stderrTail.shift();
    });
    state.startTimer = setTimeout(() => self.send(self.pid, new Fault('exit', `no ready frame within ${options.startTimeoutMs} ms`)), options.startTimeoutMs);
    return { ok: state };
  },

  handleInfo(message, state, self): NoReplyResult<State> {
    if (message instanceof Frames) {
      state.framesQueued--;
      for (const frame of message.messages) {
        const stop = onFrame(frame, state, self);
        if (stop !== undefined) return { stop, state };
      }
    } else if (message instanceof Job) {
      runJob(message, state, self);
    } else if (message instanceof HeartbeatTick) {
      return heartbeat(state, self);
    } else if (message instanceof CloseSession) {
      closeSession(message.session, state);
    } else if (message instanceof Fault) {
      return { stop: exitWith(message.kind, message.detail, message.memory), state };
    } else if (message instanceof Exit && message.from === state.port.pid) {
      if (!state.ready && exitedEarly(message.reason) !== undefined) return { stop: exitedBeforeReady(message.reason, state, self), state };
      return { stop: exitWith(...Object.values(classifyPortExit(message.reason)) as [CrashKind, string]), state };
    }
    return { noreply: true, state };
  },

  async terminate(reason, state, self) {
    if (state === undefined) return;
    state.stopping = true;
    clearInterval(state.heartbeat);
    clearTimeout(state.startTimer);
    clearInterval(state.rssTimer);
    for (const timer of state.cancelling.values()) clearTimeout(timer);
    state.cancelling.clear();
    state.shared.callTables.delete(state.id);
    // Close the port with our reason (SIGTERM then SIGKILL for a shutdown, SIGKILL otherwise) and wait for the
    // Python process to be gone: a stopped pool, or a worker_exit event, leaves no Python process behind.
    self.runtime.exit(state.port.pid, reason, self.pid);
    await state.port.exited;
    const { telemetry, options } = state.shared;
    if (telemetry.listenerCount('worker_exit') === 0) return;
    const exit =
      typeof reason === 'object' && reason !== null && 'worker' in reason
        ? (reason as WorkerExit).worker
        : { kind: state.draining && isShutdown(reason) ? ('recycled' as const) : ('shutdown' as const), detail: String(reason) };
    telemetry.emit('worker_exit', { pool: options.name, worker: state.id, ...exit });
  },
};

/** Whether the worker can take a job by its lane now: ready, alive, neither draining nor stopping. */
function laneOpen(state: State, self: ProcessContext): boolean {
  return state.ready && !state.draining && !state.stopping && self.runtime.isAlive(self.pid);
}

/**
 * In the pipe's data handler: settles the answers of calls at the head of `batch` right here, with no mailbox hop,
 * while no earlier frames wait in the mailbox and the worker is not stopping. Returns how many it settled; the rest
 * (from the first frame of any other kind) go through the mailbox in order, so a stream's chunks never trail its
 * result and a fatal frame still stops the worker.
 */
function settleHere(batch: WorkerMessage[], state: State, self: ProcessContext): number {
  if (state.framesQueued > 0 || state.stopping || !state.ready || !self.runtime.isAlive(self.pid)) return 0;
  let settled = 0;
  for (const frame of batch) {
    if ((frame.t !== 'result' && frame.t !== 'error') || !state.pending.has(frame.id)) break;
    onFrame(frame, state, self);
    settled++;
  }
  return settled;
}

/** Sends the frames of `batch` from `start` on to the worker's mailbox. */
function queueFrames(batch: WorkerMessage[], start: number, state: State, self: ProcessContext): void {
  if (start >= batch.length) return;
  state.framesQueued++;
  self.runtime.send(self.pid, new Frames(start === 0 ? batch : batch.slice(start)));
}

function onFrame(frame: WorkerMessage, state: State, self: ProcessContext): WorkerExit | undefined {
  switch (frame.t) {
    case 'ready': {
      clearTimeout(state.startTimer);
      state.ready = true;
      const { options, telemetry } = state.shared;
      state.heartbeat = setInterval(() => self.send(self.pid, new HeartbeatTick()), options.heartbeatIntervalMs);
      state.heartbeat.unref();
      if (telemetry.listenerCount('worker_start') > 0) {
        telemetry.emit('worker_start', { pool: options.name, worker: state.id, osPid: state.port.osPid, coldStartMs: performance.now() - state.spawnedAt });
      }
      GenServer.cast(self, state.shared.managerName, { workerUp: { pid: self.pid, id: state.id, osPid: state.port.osPid, lane: state.lane } });
      return undefined;
    }
    case 'result':
    case 'error': {
      const job = state.pending.get(frame.id);
      if (job === undefined) {
        closedSession(frame, state);
        return undefined; // otherwise cancelled or timed out: its late answer is dropped
      }
      state.pending.delete(frame.id);
      state.served++;
      if (frame.spans !== undefined) job.spec.trace?.onSpans(frame.spans);
      if (frame.t === 'result') job.resolve(frame.value);
      else job.reject(pythonError(frame.error, job.spec.command));
      const telemetry = state.shared.telemetry;
      if (telemetry.listenerCount('call_done') > 0) {
        telemetry.emit('call_done', { pool: state.shared.options.name, worker: state.id, command: job.spec.command, durationMs: performance.now() - job.createdAt, ok: frame.t === 'result' });
      }
      if (!state.draining && state.served >= state.shared.options.recycle.maxRequests) askToRecycle(state, self, 'requests');
      return undefined;
    }
    case 'chunk':
      state.pending.get(frame.id)?.onChunk?.(frame.value);
      return undefined;
    case 'pong':
      state.missed = 0;
      // Every thread busy past the grace, with calls waiting for one: take no new work here.
      if (!state.draining && (frame.busy_ms ?? 0) >= state.shared.options.cancelGraceMs) askToRecycle(state, self, 'saturated');
      return undefined;
    case 'released': {
      const timer = state.cancelling.get(frame.id);
      if (timer !== undefined) {
        clearTimeout(timer);
        state.cancelling.delete(frame.id);
      }
      return undefined;
    }
    case 'callback':
      answerCallback(frame, state);
      return undefined;
    case 'fatal':
      if (frame.error.type === 'StartupError' && !state.ready) return reportedStartupError(frame.error, state, self);
      return exitWith('protocol', `${frame.error.type}: ${frame.error.message}`);
    default:
      return exitWith('protocol', `unknown frame type ${JSON.stringify((frame as { t: unknown }).t)}`);
  }
}

/** Lines of stderr kept from before the ready frame, for a Python that exits before it (see exitedBeforeReady). */
const STDERR_TAIL_LINES = 40;

/** Why `path` is no usable working directory, or undefined when it is one. */
function directoryProblem(path: string): string | undefined {
  try {
    return statSync(resolve(path)).isDirectory() ? undefined : 'is not a directory';
  } catch {
    return 'does not exist';
  }
}

/**
 * A worker's Python cannot start, and restarting cannot help (its configuration is wrong): recorded for the pool's
 * callers, reported (`worker_startup_failed`), told to the manager. No slot spawns Python again until the pool's
 * subtree is started again (see workerChildSpec).
 */
function startupFailed(shared: PoolShared, worker: string, problem: string, details: StartupFailureDetails, self: ProcessContext): WorkerStartupFailed {
  const { options, telemetry } = shared;
  const failure = new WorkerStartupFailed(options.name, worker, problem, details);
  shared.startupFailure ??= failure;
  if (telemetry.listenerCount('worker_startup_failed') > 0) {
    const { setting, entry, module, pythonType, pythonMessage, traceback } = failure;
    telemetry.emit('worker_startup_failed', { pool: options.name, worker, setting, entry, module, problem, pythonType, message: pythonMessage, traceback });
  }
  GenServer.cast(self, shared.managerName, { startupFailed: shared.startupFailure });
  return failure;
}

/** Python's fatal StartupError: the setting it names (a module that failed to import, a grant naming no class, ...). */
function reportedStartupError(error: WireError, state: State, self: ProcessContext): WorkerExit {
  const pythonType = error.python_type ?? 'StartupError';
  const pythonMessage = error.python_message ?? (error.message.startsWith(`${pythonType}: `) ? error.message.slice(pythonType.length + 2) : error.message);
  let { setting, message: problem } = error;
  // A worker older than `setting` named only the module that failed to import.
  if (setting === undefined && error.module !== undefined) {
    const own = error.module.startsWith('dspex_bridge.');
    setting = own ? 'python.executable' : 'python.commands';
    problem = `${own ? "the bridge's module" : 'python.commands module'} '${error.module}' failed to import: ${error.message}`;
  }
  const failure = startupFailed(state.shared, state.id, problem, { setting, entry: error.entry ?? error.module, module: error.module, pythonType, pythonMessage, traceback: error.traceback ?? '' }, self);
  return exitWith('startup', failure.message);
}

/**
 * The exit code of a Python that exited by itself before its ready frame, or undefined when restarting it may help:
 * killed by a signal (the OOM killer, a segfault) or with 137. Any other exit before ready is the same on every try:
 * a Python without dspex_bridge, a bridge of another version that refuses the flags, an environment that breaks
 * the bridge's own import, an executable that is not Python.
 */
function exitedEarly(reason: unknown): number | undefined {
  if (reason === 'normal') return 0;
  if (typeof reason !== 'object' || reason === null || !('exitStatus' in reason)) return undefined;
  const code = Number((reason as { exitStatus: number }).exitStatus);
  return code === 137 ? undefined : code;
}

/** A Python that exited before its ready frame without a StartupError frame: a startup failure, said from its stderr. */
function exitedBeforeReady(reason: unknown, state: State, self: ProcessContext): WorkerExit {
  const { executable } = state.shared.options;
  const code = exitedEarly(reason) ?? -1;
  const tail = state.stderrTail;
  const last = tail.at(-1) ?? '(nothing on stderr)';
  // The last line of a Python that died of an exception: "ModuleNotFoundError: No module named 'dspex_bridge'".
  const raised = /^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)): (.*)$/.exec(last);
  const exe = JSON.stringify(executable);
  let problem: string;
  if (tail.some((line) => /No module named '?dspex_bridge/.test(line))) problem = `python.executable ${exe} has no dspex_bridge installed (${last})`;
  else if (tail.some((line) => /unrecognized arguments|error: (the following )?arguments?/.test(line))) {
    problem = `the dspex_bridge of python.executable ${exe} refused the flags this @dspex/python-bridge passes (${last}): it is another version; install the matching one`;
  } else problem = `python.executable ${exe} exited with code ${code} before it was ready: ${last}`;
  const failure = startupFailed(state.shared, state.id, problem, { setting: 'python.executable', entry: executable, pythonType: raised?.[1] ?? 'SystemExit', pythonMessage: raised?.[2] ?? last, traceback: tail.join('\n') }, self);
  return exitWith('startup', failure.message);
}

function pythonError(error: WireError, command: string): Error {
  if (error.type === 'Cancelled') return new CallCancelled(command);
  if (error.type === 'NotAllowed') return new NotAllowed(error.message, error.traceback, command);
  return new PythonException(error.type, error.message, error.traceback, command);
}

function runJob(job: Job, state: State, self: ProcessContext): void {
  if (job.settled) return;
  clearTimeout(job.callTimer); // a retried call gets its full timeout again on this worker
  const id = state.nextId++;
  const { spec } = job;
  const message: NodeMessage = { t: 'call', id, cmd: spec.command, args: spec.args, session: spec.session };
  if (spec.credits !== undefined) message.credits = spec.credits;
  if (spec.trace !== undefined) message.trace = spec.trace.carrier;
  try {
    write(state, message);
  } catch (error) {
    job.reject(error as Error); // unencodable or oversized arguments: this call fails, the worker is fine
    return;
  }
  state.pending.set(id, job);
  if (state.rssTimer === undefined && Number.isFinite(state.shared.options.recycle.maxRssMb)) startRssSampler(state, self);
  const cancel = (why = 'was cancelled'): void => {
    if (!state.pending.delete(id)) return;
    try {
      write(state, { t: 'cancel', id });
    } catch {
      return; // The pipe is gone: the worker is dying and its exit is handled elsewhere.
    }
    // Python answers every cancel with `released` once the call's code has stopped; past the grace it is a runaway.
    const grace = state.shared.options.cancelGraceMs;
    const detail = `call ${id} (${spec.command}) ${why} and still ran ${grace} ms later (cancelGraceMs); the worker was killed to stop it`;
    state.cancelling.set(id, setTimeout(() => self.send(self.pid, new Fault('runaway', detail)), grace));
  };
  job.cancelInWorker = cancel;
  if (spec.credits !== undefined) job.grantCredits = (n) => state.pending.has(id) && write(state, { t: 'credit', id, n });
  if (Number.isFinite(spec.timeoutMs)) {
    job.callTimer = setTimeout(() => {
      cancel(`timed out after ${spec.timeoutMs} ms`);
      job.reject(new CallTimeout(spec.command, spec.timeoutMs));
    }, spec.timeoutMs);
  }
}

/**
 * Samples the Python process's RSS every rssSampleIntervalMs while calls are in flight (one timer per worker,
 * stopped by its own tick once none are), and kills a worker over recycle.maxRssMb at once: the call blowing it
 * up must not run on until the OOM killer or the next heartbeat.
 */
function startRssSampler(state: State, self: ProcessContext): void {
  const { options } = state.shared;
  const limitMb = options.recycle.maxRssMb;
  state.rssTimer = setInterval(() => {
    if (state.pending.size === 0 && state.cancelling.size === 0) {
      clearInterval(state.rssTimer);
      state.rssTimer = undefined;
      return;
    }
    const mb = rssMb(state.port.osPid);
    if (mb === undefined || mb < limitMb) return;
    clearInterval(state.rssTimer);
    // The reason goes first, so the worker stops with it rather than as merely 'killed' by the signal.
    self.send(self.pid, new Fault('memory', `resident memory ${Math.round(mb)} MB over the limit of ${limitMb} MB`, { rssMb: mb, limitMb }));
    try {
      process.kill(state.port.osPid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, options.rssSampleIntervalMs);
}

function heartbeat(state: State, self: ProcessContext): NoReplyResult<State> {
  const { options, telemetry } = state.shared;
  if (state.missed >= options.heartbeatMaxMissed) {
    return { stop: exitWith('heartbeat', `${state.missed} pings unanswered`), state };
  }
  if (state.missed > 0 && telemetry.listenerCount('heartbeat_miss') > 0) telemetry.emit('heartbeat_miss', { pool: options.name, worker: state.id, missed: state.missed });
  state.missed++;
  write(state, { t: 'ping', seq: ++state.pingSeq });
  if (!state.draining) {
    if (performance.now() - state.spawnedAt >= options.recycle.maxAgeMs) askToRecycle(state, self, 'age');
    else if (Number.isFinite(options.recycle.maxRssMb)) {
      const mb = rssMb(state.port.osPid);
      if (mb !== undefined && mb >= options.recycle.maxRssMb) askToRecycle(state, self, 'rss');
    }
  }
  return { noreply: true, state };
}

function askToRecycle(state: State, self: ProcessContext, why: 'requests' | 'age' | 'rss' | 'saturated'): void {
  state.draining = true;
  const { telemetry, options } = state.shared;
  if (telemetry.listenerCount('worker_recycle') > 0) telemetry.emit('worker_recycle', { pool: options.name, worker: state.id, why });
  GenServer.cast(self, state.shared.managerName, { draining: self.pid });
}

function answerCallback(frame: Extract<WorkerMessage, { t: 'callback' }>, state: State): void {
  const tool = state.shared.tools.get(frame.session)?.get(frame.name);
  const reply = (message: NodeMessage): void => {
    try {
      write(state, message);
    } catch (error) {
      write(state, { t: 'callback_error', id: frame.id, error: { type: 'Unencodable', message: (error as Error).message } });
    }
  };
  if (tool === undefined) {
    reply({ t: 'callback_error', id: frame.id, error: { type: 'UnknownTool', message: `no tool ${frame.name} is registered for session ${frame.session}` } });
    return;
  }
  Promise.resolve()
    .then(() => tool(frame.args ?? {}))
    .then(
      (value) => reply({ t: 'callback_result', id: frame.id, value }),
      (error: unknown) => reply({ t: 'callback_error', id: frame.id, error: { type: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) } }),
    );
}

function closeSession(session: string, state: State): void {
  const id = state.nextId++;
  try {
    write(state, { t: 'call', id, cmd: 'close_session', args: {}, session });
    state.closing.set(id, session);
  } catch {
    // Nothing to free if the pipe is gone.
  }
}

/** The answer to a close_session we sent: the session's Python objects are freed now (or could not be). */
function closedSession(frame: Extract<WorkerMessage, { t: 'result' | 'error' }>, state: State): void {
  const session = state.closing.get(frame.id);
  if (session === undefined) return;
  state.closing.delete(frame.id);
  const { telemetry, options } = state.shared;
  if (frame.t === 'error') {
    // Reported, not thrown: the objects go with the worker at the latest.
    if (telemetry.listenerCount('session_close_failed') > 0) telemetry.emit('session_close_failed', { pool: options.name, worker: state.id, session, error: frame.error });
    return;
  }
  const objects = Number((frame.value as { objects?: unknown } | null)?.objects ?? 0);
  if (telemetry.listenerCount('session_closed') > 0) telemetry.emit('session_closed', { pool: options.name, worker: state.id, session, objects });
}

function logLines(stream: NodeJS.ReadableStream, log: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.length > 0) log(line);
  });
  stream.on('end', () => rest.length > 0 && log(rest));
}

/** The child spec of worker slot `slot`: permanent, started lazily when the pool is lazy. */
export function workerChildSpec(shared: PoolShared, slot: number, lazy: boolean): ChildSpec {
  let demanded = !lazy;
  return {
    id: `worker-${slot}`,
    restart: 'permanent',
    shutdown: 5000,
    start: (parent) => {
      // A lazy slot is 'ignore'd at boot (kept, not running); the manager starts it on first demand.
      if (!demanded) {
        demanded = true;
        return { ignore: true };
      }
      // The pool's configuration is wrong (see startupFailed): no Python is spawned again, so a failed worker's
      // restart, a recycle or a lazy slot's first demand leaves the slot idle instead of spinning.
      if (shared.startupFailure !== undefined) return { ignore: true };
      return GenServer.startLink(parent, behavior, { shared, slot }, { trapExit: true, label: `python-worker:${shared.options.name}:${slot}` });
    },
  };
}

export type { Pid };
