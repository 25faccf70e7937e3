// The PoolManager: one GenServer per pool that knows the ready workers and their load, routes each job to
// a worker (least loaded, or the session's pinned one), holds the FIFO wait queue, fails or retries the jobs
// of a worker that died, expires idle sessions, and replaces workers that asked to be recycled.

import { Down, Supervisor, isShutdown, type GenServerBehavior, type NoReplyResult, type Pid, type ProcessContext } from '@dspex/runtime';
import { PoolClosed, PoolSaturated, ProtocolError, QueueTimeout, SessionClosed, SessionWorkerLost, WorkerBusy, WorkerCrashed, WorkerOverMemory, type WorkerStartupFailed } from './errors.js';
import { Job } from './job.js';
import { JobSet } from './job_table.js';
import type { ResolvedPoolOptions } from './options.js';
import type { PoolTelemetry } from './telemetry.js';
import { CloseSession, crashOf, type ManagerCall, type ManagerCast, type WorkerLane } from './manager_protocol.js';



interface WorkerEntry {
  pid: Pid;
  id: string;
  osPid: number;
  /** The worker's direct lane (see ManagerBoard): takes a job with no message when the worker is ready for it. */
  lane: WorkerLane;
  inflight: JobSet;
  draining: boolean;
  /** Sessions pinned to it: new sessions go to the least loaded worker, then the one with fewest sessions. */
  sessions: number;
}

interface SessionEntry {
  id: string;
  worker: Pid | null;
  /** Set when the pinned worker died; calls fail with SessionWorkerLost until rebuild. */
  lostWorker: string | null;
  lastUsed: number;
  /** Calls of the session not settled yet: a session never expires under a running call. */
  calls: Set<Job>;
  /** Set by Session.close(): runs once the calls that were running at the close have settled. */
  whenIdle?: () => void;
}

/** What `pool.stats()` reports: workers configured and ready, calls in flight and queued, open sessions, and the workers' OS pids. */
export interface PoolStats {
  workers: number;
  ready: number;
  inflight: number;
  queued: number;
  sessions: number;
  workerOsPids: number[];
}

interface State {
  options: ResolvedPoolOptions;
  telemetry: PoolTelemetry;
  workerSupervisor: string;
  workers: Map<Pid, WorkerEntry>;
  queue: Job[];
  sessions: Map<string, SessionEntry>;
  sweepTimer: ReturnType<typeof setInterval>;
  /** Lazy pools: worker slots not started yet. */
  idleSlots: string[];
  /** Closed sessions whose calls still run (see closeSession). */
  closing: Set<SessionEntry>;
  /** What PythonPool dispatches through without a message (null when the pool did not ask for one). */
  board: ManagerBoard | null;
  startupFailure: () => WorkerStartupFailed | undefined;
}



export interface ManagerArgs {
  options: ResolvedPoolOptions;
  telemetry: PoolTelemetry;
  workerSupervisor: string;
  /** The pool's startup failure, once a worker found its configuration wrong (see startupFailed). */
  startupFailure?: () => WorkerStartupFailed | undefined;
  /** Where the manager publishes its board for PythonPool (null once it stops). */
  publish?: (board: ManagerBoard | null) => void;
}


/**
 * The manager's routing, offered to PythonPool without a mailbox hop for the common case: a call with no
 * session, nothing queued and no submit waiting in the manager's mailbox, and a worker with room whose lane is
 * open. Then `dispatch` does what the `submit` cast would do (the same target, the same bookkeeping through
 * `assign`), and the worker writes the frame at once. `settle` does what the `settled` cast would do when that is
 * only freeing the slot (nothing queued, the worker not draining, no session). Everything else takes the
 * messages, so the manager's state stays the one source of truth: a worker's death fails or retries its calls in
 * workerDown, as before. JavaScript runs one thing at a time, and no handler of the manager calls user code
 * synchronously, so the board never sees the manager's state halfway through a transition.
 */
export class ManagerBoard {
  /** submit casts sent and not handled yet: while any wait, new calls take the mailbox too, behind them. */
  submitsInMailbox = 0;
  closed = false;

  /** @internal */
  constructor(
    readonly manager: Pid,
    private readonly state: State,
  ) {}

  /** Dispatches `job` now if the manager would, handling its submit, dispatch it at once; false otherwise. */
  dispatch(job: Job): boolean {
    const state = this.state;
    if (this.closed || this.submitsInMailbox > 0 || state.queue.length > 0 || job.spec.session !== null) return false;
    const target = leastLoaded(state);
    if (target === undefined || !target.lane.open()) return false;
    assign(job, target, state);
    target.lane.run(job);
    return true;
  }

  /** Frees a settled job's slot now if that is all the `settled` cast would do; false otherwise. */
  settle(job: Job): boolean {
    const state = this.state;
    if (this.closed || job.worker === null || job.spec.session !== null || state.queue.length > 0) return false;
    const worker = state.workers.get(job.worker);
    if (worker === undefined || worker.draining) return false;
    worker.inflight.delete(job);
    return true;
  }
}

class SweepSessions {}

export const managerBehavior: GenServerBehavior<State, ManagerArgs, ManagerCall, unknown, ManagerCast> = {
  init({ options, telemetry, workerSupervisor, publish, startupFailure = () => undefined }, self) {
    const sweepEvery = Math.max(50, Math.min(options.sessionTtlMs / 4, 60_000));
    const sweepTimer = setInterval(() => self.send(self.pid, new SweepSessions()), sweepEvery);
    sweepTimer.unref();
    const idleSlots = options.start === 'lazy' ? Array.from({ length: options.size }, (_, i) => `worker-${i}`) : [];
    const state: State = { options, telemetry, workerSupervisor, workers: new Map(), queue: [], sessions: new Map(), sweepTimer, idleSlots, closing: new Set(), board: null, startupFailure };
    if (publish !== undefined) {
      state.board = new ManagerBoard(self.pid, state);
      publish(state.board);
    }
    return { ok: state };
  },

  handleCast(message, state, self): NoReplyResult<State> {
    if ('submit' in message) submit(message.submit, state, self);
    else if ('settled' in message) settled(message.settled, state, self);
    else if ('workerUp' in message) workerUp(message.workerUp, state, self);
    else if ('draining' in message) draining(message.draining, state, self);
    else if ('startupFailed' in message) failWaitingIfNoWorker(state);
    return { noreply: true, state };
  },

  handleCall(request, _from, state, self) {
    if ('stats' in request) return { reply: stats(state), state };
    if ('closeSession' in request) return { reply: closeSession(request.closeSession, request.whenIdle, state, self), state };
    const entry = state.sessions.get(request.rebuildSession);
    if (entry !== undefined) {
      pin(entry, undefined, state);
      entry.lostWorker = null;
    }
    return { reply: entry !== undefined, state };
  },

  handleInfo(message, state, self): NoReplyResult<State> {
    if (message instanceof Down) workerDown(message.pid, message.reason, state, self);
    else if (message instanceof SweepSessions) sweepSessions(state, self);
    return { noreply: true, state };
  },

  terminate(_reason, state) {
    if (state === undefined) return;
    if (state.board !== null) state.board.closed = true;
    clearInterval(state.sweepTimer);
    for (const job of state.queue) job.reject(new PoolClosed(state.options.name));
    state.queue = [];
    for (const entry of state.closing) entry.whenIdle?.();
    state.closing.clear();
  },
};

function stats(state: State): PoolStats {
  let inflight = 0;
  let ready = 0;
  for (const worker of state.workers.values()) {
    inflight += worker.inflight.size;
    if (!worker.draining) ready++;
  }
  const workerOsPids = [...state.workers.values()].map((w) => w.osPid);
  return { workers: state.workers.size, ready, inflight, queued: state.queue.length, sessions: state.sessions.size, workerOsPids };
}

// --- Routing ---

function submit(job: Job, state: State, self: ProcessContext): void {
  if (job.countedInMailbox && state.board !== null) {
    job.countedInMailbox = false;
    state.board.submitsInMailbox--;
  }
  if (job.settled) return;
  // Misconfigured, and no worker left from before: nothing will ever run it.
  const failure = state.startupFailure();
  if (failure !== undefined && state.workers.size === 0) {
    job.reject(failure);
    return;
  }
  if (job.spec.session !== null) touchSession(job.spec.session, state).calls.add(job);
  // Fast path: nothing waits ahead of it and a worker has room.
  if (state.queue.length === 0 && tryDispatch(job, state, self)) return;
  if (job.settled) return; // refused by its session's affinity
  const { options } = state;
  if (state.queue.length >= options.maxQueue) {
    job.reject(new PoolSaturated(options.name, options.maxQueue));
    return;
  }
  state.queue.push(job);
  if (state.telemetry.listenerCount('queue') > 0) state.telemetry.emit('queue', { pool: options.name, queued: state.queue.length });
  armQueueTimeout(job, options);
  // The jobs ahead may all wait for one session's busy worker while another worker is free: run what can run.
  if (state.queue.length > 1 && leastLoaded(state) !== undefined) drainQueue(state, self);
  startIdleSlot(state, self);
}

/** Starts the clock of a job that waits for a worker: QueueTimeout if none takes it within queueTimeoutMs. */
function armQueueTimeout(job: Job, options: ResolvedPoolOptions): void {
  if (!Number.isFinite(options.queueTimeoutMs)) return;
  job.queueTimer = setTimeout(() => job.reject(new QueueTimeout(options.name, options.queueTimeoutMs)), options.queueTimeoutMs);
}

/** Sends the job to a worker if one may take it now; false when it must wait (or was refused). */
function tryDispatch(job: Job, state: State, self: ProcessContext): boolean {
  const sessionId = job.spec.session;
  let target: WorkerEntry | undefined;
  if (sessionId === null) {
    target = leastLoaded(state);
  } else {
    const session = state.sessions.get(sessionId) ?? touchSession(sessionId, state);
    if (session.lostWorker !== null) {
      job.reject(new SessionWorkerLost(sessionId, session.lostWorker));
      return false;
    }
    const pinned = session.worker === null ? undefined : state.workers.get(session.worker);
    if (pinned === undefined) {
      target = leastLoaded(state, true);
      if (target !== undefined) pin(session, target, state);
    } else if (hasRoom(pinned, state)) {
      target = pinned;
    } else if (job.spec.affinity === 'strict_fail_fast') {
      job.reject(new WorkerBusy(sessionId));
      return false;
    } else if (job.spec.affinity === 'hint') {
      target = leastLoaded(state);
    }
  }
  if (target === undefined) return false;
  assign(job, target, state);
  self.send(target.pid, job);
  return true;
}

/** The bookkeeping of handing `job` to `target` (by message, or by its lane): the one place it is done. */
function assign(job: Job, target: WorkerEntry, state: State): void {
  if (job.queueTimer !== undefined) {
    clearTimeout(job.queueTimer);
    job.queueTimer = undefined;
  }
  job.worker = target.pid;
  job.attempts++;
  target.inflight.add(job);
  state.telemetry.emitQueueWait(state.options.name, job);
}

function hasRoom(worker: WorkerEntry, state: State): boolean {
  return !worker.draining && worker.inflight.size < state.options.callsPerWorker;
}

/** The worker with room and the fewest calls in flight; for a new session, ties go to the fewest sessions. */
function leastLoaded(state: State, forNewSession = false): WorkerEntry | undefined {
  let best: WorkerEntry | undefined;
  for (const worker of state.workers.values()) {
    if (!hasRoom(worker, state)) continue;
    if (best === undefined || worker.inflight.size < best.inflight.size) best = worker;
    else if (forNewSession && worker.inflight.size === best.inflight.size && worker.sessions < best.sessions) best = worker;
  }
  return best;
}

/** Runs queued jobs that can run now, oldest first; the rest keep their place in line. */
function drainQueue(state: State, self: ProcessContext): void {
  if (state.queue.length === 0) return;
  const waiting = state.queue;
  state.queue = [];
  for (const job of waiting) {
    if (job.settled) continue;
    if (!tryDispatch(job, state, self) && !job.settled) state.queue.push(job);
  }
}

function settled(job: Job, state: State, self: ProcessContext): void {
  if (job.spec.session !== null) {
    const session = state.sessions.get(job.spec.session);
    if (session?.calls.delete(job) === true) session.lastUsed = performance.now();
    else if (state.closing.size > 0) closingCallSettled(job, state);
  }
  if (job.worker === null) {
    const at = state.queue.indexOf(job);
    if (at >= 0) state.queue.splice(at, 1);
    return;
  }
  const worker = state.workers.get(job.worker);
  if (worker === undefined) return;
  worker.inflight.delete(job);
  if (worker.draining && worker.inflight.size === 0) void recycle(worker, state, self);
  drainQueue(state, self);
}

// --- Workers coming and going ---

function workerUp(up: { pid: Pid; id: string; osPid: number; lane: WorkerLane }, state: State, self: ProcessContext): void {
  if (state.workers.has(up.pid) || !self.runtime.isAlive(up.pid)) return;
  self.monitor(up.pid);
  state.workers.set(up.pid, { pid: up.pid, id: up.id, osPid: up.osPid, lane: up.lane, inflight: new JobSet('inflightIndex'), draining: false, sessions: 0 });
  drainQueue(state, self);
}

function workerDown(pid: Pid, reason: unknown, state: State, self: ProcessContext): void {
  const worker = state.workers.get(pid);
  if (worker === undefined) return;
  state.workers.delete(pid);
  // A worker shut down by its supervisor: the pool is stopping (a recycled worker has no calls left).
  const stopping = isShutdown(reason);
  const crash = crashOf(reason);
  for (const session of state.sessions.values()) {
    if (session.worker === pid) {
      session.worker = null;
      session.lostWorker = worker.id;
    }
  }
  const retry: Job[] = [];
  for (const job of worker.inflight) {
    job.cancelInWorker = null;
    job.grantCredits = null;
    job.worker = null;
    clearTimeout(job.callTimer);
    if (job.settled) continue;
    if (stopping) job.reject(new PoolClosed(state.options.name));
    else if (job.spec.idempotent && job.attempts < 2 && job.spec.session === null) retry.push(job);
    else if (crash.kind === 'memory') job.reject(new WorkerOverMemory(crash.limitMb ?? state.options.recycle.maxRssMb, crash.rssMb ?? Number.NaN, worker.id));
    else if (crash.kind === 'protocol') job.reject(new ProtocolError('WorkerProtocol', `worker ${worker.id} broke the wire protocol (${crash.detail}); the pool restarts it.`));
    else job.reject(new WorkerCrashed(crash.kind, crash.detail, worker.id));
  }
  // A retried call waits for a worker like any other: if none comes back in time, QueueTimeout, not a hang.
  for (const job of retry) armQueueTimeout(job, state.options);
  state.queue = [...retry, ...state.queue];
  drainQueue(state, self);
  failWaitingIfNoWorker(state);
}

function draining(pid: Pid, state: State, self: ProcessContext): void {
  const worker = state.workers.get(pid);
  if (worker === undefined || worker.draining) return;
  worker.draining = true;
  if (worker.inflight.size === 0) void recycle(worker, state, self);
}

/** Replaces a worker that reached a recycling limit: stop its slot and start it again (not a crash restart). */
async function recycle(worker: WorkerEntry, state: State, self: ProcessContext): Promise<void> {
  try {
    const children = await Supervisor.whichChildren(self, state.workerSupervisor);
    const slot = children.find((c) => c.pid === worker.pid)?.id;
    if (slot === undefined) return;
    await Supervisor.terminateChild(self, state.workerSupervisor, slot);
    await Supervisor.restartChild(self, state.workerSupervisor, slot);
  } catch (error) {
    self.runtime.logger.warn({ err: error, pool: state.options.name, worker: worker.id }, 'recycling a worker failed; it keeps running');
  }
}

/** Lazy pools start one more worker slot when work waits. */
function startIdleSlot(state: State, self: ProcessContext): void {
  const slot = state.idleSlots.shift();
  if (slot === undefined) return;
  void Supervisor.restartChild(self, state.workerSupervisor, slot).then((result) => {
    if ('error' in result) self.runtime.logger.warn({ pool: state.options.name, slot, reason: String(result.error) }, 'a lazy worker slot failed to start');
  });
}

// --- Sessions ---

function touchSession(id: string, state: State): SessionEntry {
  let entry = state.sessions.get(id);
  if (entry === undefined) {
    entry = { id, worker: null, lostWorker: null, lastUsed: performance.now(), calls: new Set() };
    state.sessions.set(id, entry);
  } else {
    entry.lastUsed = performance.now();
  }
  return entry;
}

/** Pins a session to a worker (or unpins it), keeping the workers' session counts. */
function pin(session: SessionEntry, worker: WorkerEntry | undefined, state: State): void {
  const previous = session.worker === null ? undefined : state.workers.get(session.worker);
  if (previous !== undefined) previous.sessions--;
  session.worker = worker?.pid ?? null;
  if (worker !== undefined) worker.sessions++;
}

/** Forgets a closed or expired session and asks its worker to free its Python objects. */
function dropSession(entry: SessionEntry, state: State, self: ProcessContext): void {
  state.sessions.delete(entry.id);
  const worker = entry.worker;
  pin(entry, undefined, state);
  if (worker !== null) self.send(worker, new CloseSession(entry.id));
}

/**
 * Session.close(): calls of the session still queued are refused (SessionClosed: sent before the close, they would
 * otherwise run after it, in a fresh session); the worker is told to close it, after every call already sent there
 * (Python answers later calls of the id with a fresh session); `whenIdle` runs once the calls running now settle.
 */
function closeSession(id: string, whenIdle: (() => void) | undefined, state: State, self: ProcessContext): boolean {
  const entry = state.sessions.get(id);
  if (entry === undefined) {
    whenIdle?.();
    return false;
  }
  for (const job of entry.calls) {
    if (job.worker !== null) continue;
    entry.calls.delete(job);
    job.reject(new SessionClosed(id, job.spec.command));
  }
  dropSession(entry, state, self);
  if (entry.calls.size === 0) whenIdle?.();
  else {
    entry.whenIdle = whenIdle;
    state.closing.add(entry);
  }
  return true;
}

function closingCallSettled(job: Job, state: State): void {
  for (const entry of state.closing) {
    if (!entry.calls.delete(job)) continue;
    if (entry.calls.size === 0) {
      state.closing.delete(entry);
      entry.whenIdle?.();
    }
    return;
  }
}

/**
 * The pool is misconfigured (a worker found its configuration wrong; see WorkerStartupFailed): restarting cannot
 * help, so no Python starts again. Once no worker is left, the calls waiting get the failure, and so do later ones
 * (see submit); a worker still serving from before the failure keeps serving, until it exits. The manager stays up:
 * stopping it would make the pool's supervisor, and the tree above it, restart the pool over and over.
 */
function failWaitingIfNoWorker(state: State): void {
  const failure = state.startupFailure();
  if (failure === undefined || state.workers.size > 0) return;
  const waiting = state.queue;
  state.queue = [];
  for (const job of waiting) job.reject(failure);
}

function sweepSessions(state: State, self: ProcessContext): void {
  const now = performance.now();
  for (const entry of state.sessions.values()) {
    if (entry.calls.size > 0 || now - entry.lastUsed < state.options.sessionTtlMs) continue;
    if (state.telemetry.listenerCount('session_expired') > 0) state.telemetry.emit('session_expired', { pool: state.options.name, session: entry.id });
    dropSession(entry, state, self);
  }
}
