// Python pools: the public API. A pool is a supervision subtree (rest_for_one: PoolManager, then a
// supervisor of worker slots); `PythonPool` is the handle callers use: call, stream, sessions, stats.
// The default pools (general, optimizer, neural) sit under one Pools supervisor, neural in its own subtree.

import { GenServer, Supervisor, runtimeOf, type Caller, type ChildSpec, type Pid, type Runtime, type SupervisorSpec } from '@dspex/runtime';
import { nanoid } from 'nanoid';
import { readdirSync } from 'node:fs';
import { BridgeConfigError, CallCancelled, InvalidCall, PoolClosed, SessionClosed, type BridgeError, type WorkerStartupFailed } from './errors.js';
import { Job, type Affinity, type CallOptions, type JobSpec } from './job.js';
import { JobSet } from './job_table.js';
import { sweepOrphans } from './orphans.js';
import { DEFAULT_POOL_OPTIONS, resolvePoolOptions, type DefaultPoolName, type PoolOptions, type ResolvedPoolOptions } from './options.js';
import { managerBehavior, type ManagerBoard, type PoolStats } from './pool_manager.js';
import type { ManagerCall, ManagerCast } from './manager_protocol.js';
import { CallStream } from './stream.js';
import { PoolTelemetry } from './telemetry.js';
import { workerChildSpec, type NodeTool, type PoolShared, type WorkerCallTable } from './worker.js';
import { traceBridgeCall, tracingOn } from './tracing.js';

/** Options of `pool.stream` and `session.stream`: the call options plus `window`, how many chunks Python may run ahead of the consumer. */
export interface StreamOptions extends CallOptions {
  /** Chunks Python may send ahead of the consumer (default 16). */
  window?: number;
}

/** Options of `pool.session(id, options)`: how strictly calls stick to the session's worker (`affinity`). */
export interface SessionOptions {
  /** hint (default): prefer the pinned worker, fall back to any; strict_queue: wait for it; strict_fail_fast: WorkerBusy. */
  affinity?: Affinity;
}

const POOLS = new WeakMap<Runtime, Map<string, PythonPool>>();

/** A value named in an InvalidCall message. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `a ${(value as object).constructor?.name ?? 'prototype-less object'}`;
  return `${typeof value} ${String(value)}`;
}

/** Named arguments: a plain object (not an array, Map, Date, Buffer or class instance). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** GPUs visible to this machine, as CUDA device indices (from /dev/nvidiaN). */
export function detectGpus(): string[] {
  try {
    return readdirSync('/dev')
      .filter((name) => /^nvidia\d+$/.test(name))
      .map((name) => name.slice('nvidia'.length))
      .sort((a, b) => Number(a) - Number(b));
  } catch {
    return [];
  }
}

/** The handle of a running (or restarting) pool. Calls find the current manager by name each time. */
export class PythonPool {
  readonly telemetry: PoolTelemetry;
  private readonly managerName: string;
  /** The manager process calls were last sent to, and those of its calls not settled yet. */
  private watched: { manager: Pid; jobs: JobSet } | null = null;
  /** Every job of the pool reports here once, when it settles, whatever the outcome: its slot is freed. */
  private readonly onSettle = (job: Job): void => {
    this.watched?.jobs.delete(job);
    // Freeing the slot directly when that is all the manager would do (see ManagerBoard), else by message.
    if (this.shared.board?.settle(job) !== true) GenServer.cast(this.rt, this.managerName, { settled: job } satisfies ManagerCast);
  };

  constructor(
    private readonly rt: Runtime,
    private readonly shared: PoolShared,
  ) {
    this.telemetry = shared.telemetry;
    this.managerName = shared.managerName;
  }

  get name(): string {
    return this.shared.options.name;
  }

  get options(): ResolvedPoolOptions {
    return this.shared.options;
  }

  /** The pool's supervisor (the root of its subtree), or undefined while it is down. */
  get supervisor(): Pid | undefined {
    return this.rt.whereis(supervisorName(this.name));
  }

  /**
   * Runs a command in a worker and resolves with its result. Rejects with PythonException,
   * WorkerCrashed, CallTimeout, QueueTimeout, PoolSaturated, ProtocolError, CallCancelled or PoolClosed.
   */
  call<T = unknown>(command: string, args: Record<string, unknown> = {}, options: CallOptions = {}): Promise<T> {
    return this.submitCall<T>(command, args, options, null, 'hint');
  }

  /** Runs a streaming command; iterate the chunks, then read `.result` for its return value. */
  stream<T = unknown>(command: string, args: Record<string, unknown> = {}, options: StreamOptions = {}): CallStream<T> {
    return this.openStream<T>(command, args, options, null, 'hint');
  }

  /** A session: calls pinned to one worker, so Python objects created in it stay reachable. */
  session(id: string = nanoid(), options: SessionOptions = {}): Session {
    return new Session(this, id, options.affinity ?? 'hint');
  }

  stats(): Promise<PoolStats> {
    return this.managerCall<PoolStats>({ stats: true });
  }

  /**
   * The Node side's call tables of each live worker, read at once: calls awaiting Python's answer, cancelled
   * calls awaiting Python's `released`, close_session calls. All zero once every call has been answered.
   */
  callTables(): WorkerCallTable[] {
    return [...this.shared.callTables.values()].map((read) => read());
  }

  /**
   * Stops the pool's subtree: workers are shut down and their Python processes killed. A pool from
   * `PythonPools.start` also frees its name, so a pool of that name (fixed options, say) can start again.
   */
  async stop(): Promise<void> {
    const sup = this.supervisor;
    if (sup !== undefined) await Supervisor.stop(this.rt, sup, 'shutdown');
    if (this.shared.standalone === true) forget(this.rt, this);
  }

  // --- internals shared with Session ---

  /** @internal */
  jobSpec(command: string, args: Record<string, unknown>, options: CallOptions, session: string | null, affinity: Affinity, credits: number | undefined): JobSpec {
    if (typeof command !== 'string' || command.length === 0) throw new InvalidCall(`a command name must be a non-empty string, not ${describe(command)}.`);
    if (!isPlainObject(args)) throw new InvalidCall(`the arguments of ${command} must be a plain object of named arguments (e.g. { text: 'hi' }), not ${describe(args)}.`);
    if (options === null || typeof options !== 'object') throw new InvalidCall(`the options of ${command} must be an object ({ timeoutMs, signal, idempotent }), not ${describe(options)}.`);
    const { timeoutMs, idempotent, signal } = options;
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs > 0))) {
      throw new InvalidCall(`timeoutMs of ${command} must be a positive number of milliseconds (or Infinity), not ${describe(timeoutMs)}.`);
    }
    if (idempotent !== undefined && typeof idempotent !== 'boolean') throw new InvalidCall(`idempotent of ${command} must be true or false, not ${describe(idempotent)}.`);
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidCall(`signal of ${command} must be an AbortSignal, not ${describe(signal)}.`);
    if (credits !== undefined && (!Number.isInteger(credits) || credits < 1)) throw new InvalidCall(`a stream window must be a positive integer, not ${describe(credits)}.`);
    return { command, args, session, affinity, timeoutMs: timeoutMs ?? this.shared.options.callTimeoutMs, idempotent: idempotent ?? false, signal, credits };
  }

  /** @internal A call's promise; misuse of the API (InvalidCall) rejects it rather than throwing. */
  submitCall<T>(command: string, args: Record<string, unknown>, options: CallOptions, session: string | null, affinity: Affinity): Promise<T> {
    let spec: JobSpec;
    try {
      spec = this.jobSpec(command, args, options, session, affinity, undefined);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (tracingOn()) return traceBridgeCall(spec, () => this.submit<T>(spec).promise);
    return this.submit<T>(spec).promise;
  }

  /** @internal */
  submit<T>(spec: JobSpec): { job: Job | null; promise: Promise<T> } {
    let job: Job | null = null;
    const promise = new Promise<T>((resolve, reject) => {
      if (spec.signal?.aborted === true) {
        reject(new CallCancelled(spec.command));
        return;
      }
      const manager = this.rt.whereis(this.managerName);
      if (manager === undefined) {
        reject(this.notRunning());
        return;
      }
      job = new Job(spec, resolve as (value: unknown) => void, reject, this.onSettle);
      this.outstanding(manager)?.add(job);
      // A plain call goes straight to a worker with room when the manager would send it there anyway (see
      // ManagerBoard); otherwise, and whenever a submit still waits in its mailbox, through the manager.
      const board = this.shared.board;
      if (board?.manager === manager && !board.closed) {
        if (board.dispatch(job)) return;
        board.submitsInMailbox++;
        job.countedInMailbox = true;
      }
      GenServer.cast(this.rt, manager, { submit: job } satisfies ManagerCast);
    });
    return { job, promise };
  }

  /**
   * The unsettled calls sent to `manager`, watched once per manager process rather than once per call: if it
   * dies, everything it held fails with PoolClosed instead of hanging (the pool restarts it).
   */
  private outstanding(manager: Pid): JobSet | undefined {
    if (this.watched?.manager === manager) return this.watched.jobs;
    if (!this.rt.isAlive(manager)) return undefined;
    const jobs = new JobSet('outstandingIndex');
    this.watched = { manager, jobs };
    this.rt.onExit(manager, () => {
      if (this.watched?.jobs === jobs) this.watched = null;
      for (const job of jobs) job.reject(this.notRunning());
    });
    return jobs;
  }

  /** Why a call cannot reach the manager: its workers cannot start (WorkerStartupFailed), or PoolClosed. */
  private notRunning(): BridgeError {
    return this.shared.startupFailure ?? new PoolClosed(this.name);
  }

  /** @internal */
  openStream<T>(command: string, args: Record<string, unknown>, options: StreamOptions, session: string | null, affinity: Affinity): CallStream<T> {
    const window = (options as StreamOptions | null | undefined)?.window ?? 16;
    let spec: JobSpec;
    try {
      spec = this.jobSpec(command, args, options, session, affinity, window);
    } catch (error) {
      return this.failedStream<T>(command, session, error as Error);
    }
    // A traced stream is a bridge call like any other: its span runs from the call to the result, and its
    // context goes to the worker, so DSPy's LM calls made while it streams come back as children.
    let submitted!: { job: Job | null; promise: Promise<unknown> };
    const run = (): Promise<unknown> => (submitted = this.submit<unknown>(spec)).promise;
    const promise = tracingOn() ? traceBridgeCall(spec, run) : run();
    return new CallStream<T>(submitted.job ?? new Job(spec, () => undefined, () => undefined, () => undefined), window, promise);
  }

  /** @internal A stream that fails with `error` (its iterator and `result`): misuse never throws at the caller. */
  failedStream<T>(command: string, session: string | null, error: Error): CallStream<T> {
    const placeholder: JobSpec = { command: String(command), args: {}, session, affinity: 'hint', timeoutMs: Infinity, idempotent: false, signal: undefined, credits: 1 };
    return new CallStream<T>(new Job(placeholder, () => undefined, () => undefined, () => undefined), 1, Promise.reject(error));
  }

  /** @internal */
  managerCall<T>(request: ManagerCall): Promise<T> {
    if (this.rt.whereis(this.managerName) === undefined) return Promise.reject(this.notRunning());
    return GenServer.call<T>(this.rt, this.managerName, request, 30_000);
  }

  /** @internal */
  toolsOf(session: string): Map<string, NodeTool> {
    let tools = this.shared.tools.get(session);
    if (tools === undefined) {
      tools = new Map();
      this.shared.tools.set(session, tools);
    }
    return tools;
  }

  /** @internal */
  dropTools(session: string): void {
    this.shared.tools.delete(session);
  }
}

/** Calls pinned to one worker. Python objects made in a session live there until it closes or expires. */
export class Session {
  private closed = false;

  constructor(
    readonly pool: PythonPool,
    readonly id: string,
    readonly affinity: Affinity,
  ) {}

  /** Rejects with SessionClosed once close() was called. */
  call<T = unknown>(command: string, args: Record<string, unknown> = {}, options: CallOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new SessionClosed(this.id, String(command)));
    return this.pool.submitCall<T>(command, args, options, this.id, this.affinity);
  }

  stream<T = unknown>(command: string, args: Record<string, unknown> = {}, options: StreamOptions = {}): CallStream<T> {
    if (this.closed) return this.pool.failedStream<T>(command, this.id, new SessionClosed(this.id, String(command)));
    return this.pool.openStream<T>(command, args, options, this.id, this.affinity);
  }

  /** Lets Python code in this session call `fn` by `name` (e.g. as a dspy.ReAct tool). */
  registerTool(name: string, fn: NodeTool): void {
    if (typeof name !== 'string' || name.length === 0 || typeof fn !== 'function') {
      throw new BridgeConfigError('registerTool takes a non-empty name and a function (args) => result.');
    }
    if (this.closed) throw new SessionClosed(this.id, `registerTool(${JSON.stringify(name)})`);
    this.pool.toolsOf(this.id).set(name, fn);
  }

  /**
   * Registers `fn` and declares it to Python in one step, so Python code of this session (a dspy.ReAct)
   * can see its name, description and argument schema. Resolves once the worker knows the tool.
   */
  async defineTool(name: string, fn: NodeTool, spec: { description?: string; parameters?: Record<string, unknown> } = {}): Promise<void> {
    this.registerTool(name, fn);
    await this.call('register_tools', { tools: [{ name, description: spec.description ?? '', parameters: spec.parameters ?? { type: 'object', properties: {} } }] });
  }

  /** After SessionWorkerLost: pin the session to a live worker again (recreate its objects afterwards). */
  async rebuild(): Promise<void> {
    await this.pool.managerCall({ rebuildSession: this.id });
  }

  /**
   * Closes the session; resolves at once (a second close does nothing). Later calls on this Session reject with
   * SessionClosed, and so do its calls still waiting in the queue. Calls already running finish normally: their
   * Python objects and Node tools stay until they settle, then go. Calls made afterwards through another Session
   * with the same id start a fresh, empty session.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const dropTools = (): void => this.pool.dropTools(this.id);
    await this.pool.managerCall({ closeSession: this.id, whenIdle: dropTools }).catch((error: unknown) => {
      dropTools();
      throw error;
    });
  }
}

const supervisorName = (pool: string): string => `dspex.pool.${pool}`;

/** Frees a pool's name in its runtime (if it still names this pool), so a pool of that name can start again. */
function forget(rt: Runtime, pool: PythonPool): void {
  const pools = POOLS.get(rt);
  if (pools?.get(pool.name) === pool) pools.delete(pool.name);
}

/**
 * What happens first to an eager pool being started: a worker is ready (undefined), a worker finds the
 * configuration wrong (its WorkerStartupFailed), or the pool's subtree goes down (its failure, else PoolClosed).
 * Listens from the call on, so call it before the pool starts.
 */
function firstWorkerOutcome(shared: PoolShared): { wait(rt: Runtime, supervisor: Pid): Promise<BridgeError | undefined>; cancel(): void } {
  let settle: (outcome: BridgeError | undefined) => void = () => undefined;
  const outcome = new Promise<BridgeError | undefined>((resolve) => (settle = resolve));
  const ready = (): void => settle(undefined);
  const failed = (): void => settle(shared.startupFailure);
  shared.telemetry.on('worker_start', ready);
  shared.telemetry.on('worker_startup_failed', failed);
  const cancel = (): void => {
    shared.telemetry.off('worker_start', ready);
    shared.telemetry.off('worker_startup_failed', failed);
  };
  return {
    cancel,
    async wait(rt, supervisor) {
      // Already decided while the supervisor started (a spawn that failed at once).
      if (shared.startupFailure !== undefined) settle(shared.startupFailure);
      const unwatch = rt.onExit(supervisor, () => settle(shared.startupFailure ?? new PoolClosed(shared.options.name)));
      try {
        return await outcome;
      } finally {
        unwatch();
        cancel();
      }
    },
  };
}

/** Builds the shared state of a pool once; restarts of its subtree reuse it (tools survive). */
function sharedFor(rt: Runtime, options: PoolOptions): { shared: PoolShared; pool: PythonPool } {
  let pools = POOLS.get(rt);
  if (pools === undefined) {
    pools = new Map();
    POOLS.set(rt, pools);
  }
  const existing = pools.get(options.name);
  if (existing !== undefined) throw new BridgeConfigError(`a pool named ${options.name} already exists in this runtime; pick another name.`);
  const resolved = resolvePoolOptions(options, detectGpus());
  const shared: PoolShared = {
    options: resolved,
    runId: `${process.pid}.${nanoid(10)}`,
    managerName: `${supervisorName(resolved.name)}.manager`,
    tools: new Map(),
    callTables: new Map(),
    telemetry: new PoolTelemetry(),
  };
  const pool = new PythonPool(rt, shared);
  pools.set(resolved.name, pool);
  return { shared, pool };
}

function poolSupervisorSpec(shared: PoolShared): ChildSpec {
  const name = supervisorName(shared.options.name);
  const tree = poolTree(shared, `${name}.workers`, shared.options.start === 'lazy');
  return Supervisor.childSpec(`pool:${shared.options.name}`, tree, {
    start: (parent) => {
      // A new start of the whole subtree (by the tree the pool sits in) tries Python again.
      shared.startupFailure = undefined;
      return Supervisor.startLink(parent, tree, { name });
    },
  });
}

/** The pool's subtree: the manager first, so rest_for_one restarts the workers whenever the manager restarts. */
function poolTree(shared: PoolShared, workersName: string, lazy: boolean): SupervisorSpec {
  const { options } = shared;
  return {
    strategy: 'rest_for_one',
    intensity: 3,
    period: 5,
    children: [
      {
        id: 'manager',
        start: (parent) => {
          // Before any worker of this run starts: clear workers that an earlier, crashed runtime left behind.
          const swept = sweepOrphans(shared.runId);
          if (swept.length > 0 && shared.telemetry.listenerCount('orphans_swept') > 0) shared.telemetry.emit('orphans_swept', { pool: options.name, pids: swept });
          const publish = (board: ManagerBoard | null): void => void (shared.board = board);
          const startupFailure = (): WorkerStartupFailed | undefined => shared.startupFailure;
          return GenServer.startLink(parent, managerBehavior, { options, telemetry: shared.telemetry, workerSupervisor: workersName, publish, startupFailure }, { name: shared.managerName, label: `pool-manager:${options.name}` });
        },
      },
      {
        id: 'workers',
        type: 'supervisor',
        shutdown: 'infinity',
        start: (parent) =>
          Supervisor.startLink(
            parent,
            { strategy: 'one_for_one', intensity: options.maxRestarts, period: options.maxSeconds, children: Array.from({ length: options.size }, (_, slot) => workerChildSpec(shared, slot, lazy)) },
            { name: workersName },
          ),
      },
    ],
  };
}

/** Starts and finds pools: `start` (a top-level subtree), `childSpec` (a pool in your own tree), `lookup`, `defaults` (the design's general/optimizer/neural pools). */
export const PythonPools = {
  /**
   * Starts a pool as a top-level subtree and returns its handle. An eager pool resolves once a worker is ready
   * (the others come up concurrently; calls wait in the queue meanwhile), a lazy one once its supervisor runs.
   * Rejects with BridgeConfigError for options of the wrong type, and with WorkerStartupFailed when a worker finds
   * the configuration wrong (an eager pool; a lazy one's first call gets it): nothing is left running then, and the
   * name is free to start the pool again. `pool.stop()` frees the name too.
   */
  async start(caller: Caller, options: PoolOptions): Promise<PythonPool> {
    const rt = runtimeOf(caller);
    const { shared, pool } = sharedFor(rt, options);
    shared.standalone = true;
    const name = shared.options.name;
    const outcome = shared.options.start === 'eager' ? firstWorkerOutcome(shared) : undefined;
    let started: Awaited<ReturnType<typeof Supervisor.start>>;
    try {
      started = await Supervisor.start(rt, poolTree(shared, `${supervisorName(name)}.workers`, shared.options.start === 'lazy'), { name: supervisorName(name) });
    } catch (error) {
      outcome?.cancel();
      forget(rt, pool);
      throw error;
    }
    if (!('ok' in started)) {
      outcome?.cancel();
      forget(rt, pool);
      throw shared.startupFailure ?? new BridgeConfigError(`pool ${name} failed to start: ${JSON.stringify(started)}`);
    }
    if (outcome === undefined) return pool;
    const failure = await outcome.wait(rt, started.ok);
    if (failure === undefined) return pool;
    await pool.stop();
    forget(rt, pool);
    throw failure;
  },

  /** A child spec for the pool's subtree, to place in your own tree, and the handle to call it with. */
  childSpec(caller: Caller, options: PoolOptions): { spec: ChildSpec; pool: PythonPool } {
    const { shared, pool } = sharedFor(runtimeOf(caller), options);
    return { spec: poolSupervisorSpec(shared), pool };
  },

  /** The handle of a pool started in this runtime, or undefined. */
  lookup(caller: Caller, name: string): PythonPool | undefined {
    return POOLS.get(runtimeOf(caller))?.get(name);
  },

  /**
   * The default pools as one subtree: `Pools` (one_for_one) with general and optimizer, and `Neural`, a
   * supervisor of its own for the GPU pool so a CUDA crash stays inside it. Options: DEFAULT_POOL_OPTIONS (all
   * lazy: no Python process starts before the first call), with `overrides` merged over them.
   */
  defaults(caller: Caller, overrides: Partial<Record<DefaultPoolName, Partial<PoolOptions>>> = {}): { spec: ChildSpec; pools: Record<DefaultPoolName, PythonPool> } {
    const pool = (name: DefaultPoolName) => PythonPools.childSpec(caller, { ...DEFAULT_POOL_OPTIONS[name], ...overrides[name], name });
    const general = pool('general');
    const optimizer = pool('optimizer');
    const neural = pool('neural');
    const spec = Supervisor.childSpec('Pools', {
      strategy: 'one_for_one',
      children: [general.spec, optimizer.spec, Supervisor.childSpec('Neural', { strategy: 'one_for_one', children: [neural.spec] })],
    });
    return { spec, pools: { general: general.pool, optimizer: optimizer.pool, neural: neural.pool } };
  },
};

