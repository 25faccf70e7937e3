// Pool options: what a user may set, the defaults, and the checks that turn a bad option into a
// BridgeConfigError that names it.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BridgeConfigError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES } from './wire.js';

/** Options of `PythonPools.start`/`childSpec`; only `name` is required. Defaults and meanings: the README's "Pool options" table. */
export interface PoolOptions {
  /** Pool name, unique in the runtime (default pools: general, optimizer, neural). */
  name: string;
  /** Number of Python workers (default: the number of CPU cores). */
  size?: number;
  /** Calls in flight at once per worker (default 16). */
  callsPerWorker?: number;
  /** eager (default): workers start with the pool; lazy: each worker slot starts on first demand. */
  start?: 'eager' | 'lazy';
  /** Calls that may wait for a worker before new ones are refused with PoolSaturated (default 1000). */
  maxQueue?: number;
  /** How long a call may wait for a worker before QueueTimeout (default 5000 ms). */
  queueTimeoutMs?: number;
  /** Default time a call may run in Python before CallTimeout (default 30000 ms). */
  callTimeoutMs?: number;
  /**
   * Replace a worker after this many calls or this age; `maxRssMb`: a worker whose Python process passes this
   * resident memory while calls run is killed at once (WorkerOverMemory), an idle one is recycled.
   */
  recycle?: { maxRequests?: number; maxAgeMs?: number; maxRssMb?: number };
  /** How often RSS is sampled while calls run, when `recycle.maxRssMb` is set (default 100 ms, at most 250). */
  rssSampleIntervalMs?: number;
  /**
   * How long a cancelled or timed-out call may keep running in Python before its worker is killed and replaced
   * (default 2000 ms); also how long every thread may stay busy with calls waiting before the worker takes no new work.
   */
  cancelGraceMs?: number;
  /** Ping interval and how many unanswered pings kill the worker (default 2000 ms, 3). */
  heartbeat?: { intervalMs?: number; maxMissed?: number };
  /** Idle sessions are closed (their Python objects freed) after this long (default 30 minutes). */
  sessionTtlMs?: number;
  /** How long a worker may take from spawn to its ready frame (default 120000 ms: DSPy imports are slow). */
  startTimeoutMs?: number;
  /** Worker restarts tolerated within `maxSeconds` before the pool's worker supervisor gives up. */
  maxRestarts?: number;
  maxSeconds?: number;
  /** Give each worker a GPU through CUDA_VISIBLE_DEVICES: 'auto' uses them when present (default 'none'). */
  devices?: 'none' | 'auto' | readonly string[];
  python?: {
    /** Python executable (default: $DSPEX_PYTHON, else the nearest .venv/bin/python, else python3). */
    executable?: string;
    /** Extra command modules to load, by module name. */
    commands?: readonly string[];
    /**
     * Replaces the default grant (a table of DSPy classes, each with the arguments it may be given) with glob
     * patterns over classes' real module and name: your own classes, whose constructor arguments are then your
     * responsibility. `['dspy.*']` grants all of DSPy (broad: it includes modules that run code). A class the
     * default table lists keeps the table's arguments. See "Security model" in the README.
     */
    allow?: readonly string[];
    /**
     * Adds classes with their own argument tables, by class path: `{ 'mypkg.Scorer': { construct: ['k'], call:
     * true } }`. `construct`/`call`/`compile`/`propose` (an instruction proposer): true (any arguments; for `call`, a module's input fields), a list
     * of names (plain data), or a map name -> kind ('data', 'signature', 'module', 'lm', 'tools', 'metric',
     * 'path', ...); `positional`: the names positional arguments bind to; `hold` (default true); `annotation`.
     */
    grant?: Readonly<Record<string, PythonGrantEntry>>;
    /** The only directory `save`/`load` may name files in (default: none, so only state maps travel). */
    saveDir?: string;
    /** Let `save`/`load` use .pkl files inside `saveDir` (pickle runs code on load; default false). */
    allowPickle?: boolean;
    env?: Readonly<Record<string, string>>;
    cwd?: string;
    maxFrameBytes?: number;
    /** Threads a worker runs sync commands on (default 16). */
    maxThreads?: number;
  };
}

/** One class in `python.grant` (see python/README.md, "Security model"). */
export interface PythonGrantEntry {
  construct?: boolean | readonly string[] | Readonly<Record<string, string>>;
  positional?: readonly string[];
  call?: boolean | readonly string[] | Readonly<Record<string, string>>;
  compile?: boolean | readonly string[] | Readonly<Record<string, string>>;
  /** An instruction proposer `propose_instructions` may build, with these arguments. */
  propose?: boolean | readonly string[] | Readonly<Record<string, string>>;
  hold?: boolean;
  annotation?: boolean;
}

/** The names of the design's default pools (DESIGN.md: Pools -> general, optimizer, Neural -> neural). */
export type DefaultPoolName = 'general' | 'optimizer' | 'neural';

/**
 * The one source of the default pools' options, used by `PythonPools.defaults` and the DSPex application.
 * All start lazily, so a program that never calls Python starts no Python process. `general` has 2 workers
 * (each runs 16 calls at once, and DSPy calls mostly wait on the LM); `optimizer` one worker with the long
 * timeouts a compile needs; `neural` one worker per GPU slot, pinned with CUDA_VISIBLE_DEVICES.
 */
export const DEFAULT_POOL_OPTIONS: Readonly<Record<DefaultPoolName, Readonly<Omit<PoolOptions, 'name'>>>> = Object.freeze({
  general: Object.freeze({ size: 2, start: 'lazy' as const }),
  optimizer: Object.freeze({ size: 1, start: 'lazy' as const, callTimeoutMs: 30 * 60_000, queueTimeoutMs: 60_000 }),
  neural: Object.freeze({ size: 1, start: 'lazy' as const, devices: 'auto' as const }),
});

/** PoolOptions with every default filled in, as `pool.options` reports them. */
export interface ResolvedPoolOptions {
  name: string;
  size: number;
  callsPerWorker: number;
  start: 'eager' | 'lazy';
  maxQueue: number;
  queueTimeoutMs: number;
  callTimeoutMs: number;
  recycle: { maxRequests: number; maxAgeMs: number; maxRssMb: number };
  rssSampleIntervalMs: number;
  cancelGraceMs: number;
  maxThreads: number;
  heartbeatIntervalMs: number;
  heartbeatMaxMissed: number;
  sessionTtlMs: number;
  startTimeoutMs: number;
  maxRestarts: number;
  maxSeconds: number;
  devices: readonly string[];
  executable: string;
  commands: readonly string[];
  allow: readonly string[];
  grant: Readonly<Record<string, PythonGrantEntry>> | undefined;
  saveDir: string | undefined;
  allowPickle: boolean;
  env: Readonly<Record<string, string>>;
  cwd: string | undefined;
  maxFrameBytes: number;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new BridgeConfigError(`pool option ${name} must be a positive integer, not ${String(value)}.`);
  return value;
}

function positiveMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0)) throw new BridgeConfigError(`pool option ${name} must be a positive number of milliseconds (or Infinity), not ${String(value)}.`);
  return value;
}

/** The Python to run: $DSPEX_PYTHON, else the nearest .venv/bin/python up from `from`, else python3. */
export function findPython(from = process.cwd()): string {
  if (process.env.DSPEX_PYTHON) return process.env.DSPEX_PYTHON;
  let dir = resolve(from);
  for (;;) {
    const candidate = join(dir, '.venv', 'bin', 'python');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return 'python3';
    dir = parent;
  }
}

export function resolvePoolOptions(options: PoolOptions, gpus: readonly string[]): ResolvedPoolOptions {
  if (options === null || typeof options !== 'object') throw new BridgeConfigError('pool options must be an object with at least a name.');
  if (typeof options.name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(options.name)) {
    throw new BridgeConfigError(`pool name must be letters, digits, '_', '.' or '-', not ${JSON.stringify(options.name)}.`);
  }
  const start = options.start ?? 'eager';
  if (start !== 'eager' && start !== 'lazy') throw new BridgeConfigError(`pool option start must be eager or lazy, not ${String(start)}.`);
  const devicesOption = options.devices ?? 'none';
  const devices = devicesOption === 'none' ? [] : devicesOption === 'auto' ? gpus : [...devicesOption];
  const python = options.python ?? {};
  return {
    name: options.name,
    size: positiveInt('size', options.size, Math.max(1, availableParallelism())),
    callsPerWorker: positiveInt('callsPerWorker', options.callsPerWorker, 16),
    start,
    maxQueue: positiveInt('maxQueue', options.maxQueue, 1000),
    queueTimeoutMs: positiveMs('queueTimeoutMs', options.queueTimeoutMs, 5000),
    callTimeoutMs: positiveMs('callTimeoutMs', options.callTimeoutMs, 30_000),
    recycle: {
      maxRequests: positiveMs('recycle.maxRequests', options.recycle?.maxRequests, Infinity),
      maxAgeMs: positiveMs('recycle.maxAgeMs', options.recycle?.maxAgeMs, Infinity),
      maxRssMb: positiveMs('recycle.maxRssMb', options.recycle?.maxRssMb, Infinity),
    },
    rssSampleIntervalMs: Math.min(250, positiveMs('rssSampleIntervalMs', options.rssSampleIntervalMs, 100)),
    cancelGraceMs: positiveMs('cancelGraceMs', options.cancelGraceMs, 2000),
    maxThreads: positiveInt('python.maxThreads', python.maxThreads, 16),
    heartbeatIntervalMs: positiveMs('heartbeat.intervalMs', options.heartbeat?.intervalMs, 2000),
    heartbeatMaxMissed: positiveInt('heartbeat.maxMissed', options.heartbeat?.maxMissed, 3),
    sessionTtlMs: positiveMs('sessionTtlMs', options.sessionTtlMs, 30 * 60_000),
    startTimeoutMs: positiveMs('startTimeoutMs', options.startTimeoutMs, 120_000),
    maxRestarts: positiveInt('maxRestarts', options.maxRestarts, 1000),
    maxSeconds: positiveMs('maxSeconds', options.maxSeconds, 5),
    devices,
    executable: python.executable ?? findPython(python.cwd),
    commands: python.commands ?? [],
    allow: python.allow ?? [],
    grant: python.grant,
    saveDir: python.saveDir === undefined ? undefined : resolve(python.saveDir),
    allowPickle: python.allowPickle === true,
    env: python.env ?? {},
    cwd: python.cwd,
    maxFrameBytes: positiveInt('python.maxFrameBytes', python.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES),
  };
}
