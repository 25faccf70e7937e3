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
  if (!Number.isInteger(value) || value < 1) throw new BridgeConfigError(`pool option ${name} must be a positive integer, not ${show(value)}.`, { setting: name });
  return value;
}

function positiveMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0)) throw new BridgeConfigError(`pool option ${name} must be a positive number of milliseconds (or Infinity), not ${show(value)}.`, { setting: name });
  return value;
}

/** A value as an error message shows it. */
function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null || typeof value !== 'object') return String(value);
  return `a ${(value as object).constructor?.name ?? 'prototype-less object'}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * `value` as a plain object of the options `keys`: a misspelt option (`python.comands`) would otherwise be ignored,
 * and the pool would start without what it was meant to have.
 */
function optionGroup<T extends object>(name: string, value: T | undefined, keys: readonly string[]): Partial<T> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw new BridgeConfigError(`pool option ${name} must be an object, not ${show(value)}.`, { setting: name });
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw new BridgeConfigError(`${name}.${key} is not a pool option; ${name} takes ${keys.join(', ')}.`, { setting: `${name}.${key}` });
  }
  return value as Partial<T>;
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw new BridgeConfigError(`pool option ${name} must be a non-empty string, not ${show(value)}.`, { setting: name });
  return value;
}

/** A list of strings each matching `pattern`, described as `what` in the error. */
function stringList(name: string, value: unknown, pattern: RegExp, what: string): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new BridgeConfigError(`pool option ${name} must be an array of ${what}, not ${show(value)}.`, { setting: name });
  for (const item of value) {
    if (typeof item !== 'string' || !pattern.test(item)) throw new BridgeConfigError(`pool option ${name} must be an array of ${what}; ${show(item)} is not one.`, { setting: name });
  }
  return [...(value as string[])];
}

const POOL_KEYS = ['name', 'size', 'callsPerWorker', 'start', 'maxQueue', 'queueTimeoutMs', 'callTimeoutMs', 'recycle', 'rssSampleIntervalMs', 'cancelGraceMs', 'heartbeat', 'sessionTtlMs', 'startTimeoutMs', 'maxRestarts', 'maxSeconds', 'devices', 'python'] as const;
const PYTHON_KEYS = ['executable', 'commands', 'allow', 'grant', 'saveDir', 'allowPickle', 'env', 'cwd', 'maxFrameBytes', 'maxThreads'] as const;
/** A Python module name (python.commands): dotted identifiers. */
const MODULE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** A python.allow pattern as Node can judge it (the worker checks the rest): no comma (the flag's separator), no space. */
const ALLOW_PATTERN = /^[^\s,]+$/;

function pythonGrant(value: unknown): Readonly<Record<string, PythonGrantEntry>> | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw new BridgeConfigError(`pool option python.grant must be an object of class path -> entry, not ${show(value)}.`, { setting: 'python.grant' });
  for (const [path, entry] of Object.entries(value)) {
    if (!isPlainObject(entry)) throw new BridgeConfigError(`python.grant['${path}'] must be an entry object ({ construct, call, ... }), not ${show(entry)}.`, { setting: 'python.grant' });
  }
  return value as Record<string, PythonGrantEntry>;
}

function pythonEnv(value: unknown): Readonly<Record<string, string>> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw new BridgeConfigError(`pool option python.env must be an object of variable -> string, not ${show(value)}.`, { setting: 'python.env' });
  for (const [name, text] of Object.entries(value)) {
    if (typeof text !== 'string') throw new BridgeConfigError(`python.env.${name} must be a string, not ${show(text)}; write it as the text the variable should hold.`, { setting: 'python.env' });
  }
  return value as Record<string, string>;
}

function devicesOf(value: unknown, gpus: readonly string[]): readonly string[] {
  if (value === undefined || value === 'none') return [];
  if (value === 'auto') return gpus;
  if (Array.isArray(value) && value.every((d) => typeof d === 'string' && d.length > 0)) return [...(value as string[])];
  throw new BridgeConfigError(`pool option devices must be 'none', 'auto' or an array of device ids (strings), not ${show(value)}.`, { setting: 'devices' });
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

/**
 * Checks every option's type and fills in the defaults. BridgeConfigError names the first option that is wrong
 * (`setting`): a misspelt one included. What only the worker can judge (a module that imports, a directory that
 * exists, an executable that runs) it checks when it starts (see WorkerStartupFailed).
 */
export function resolvePoolOptions(options: PoolOptions, gpus: readonly string[]): ResolvedPoolOptions {
  if (!isPlainObject(options)) throw new BridgeConfigError('pool options must be an object with at least a name.');
  if (typeof options.name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(options.name)) {
    throw new BridgeConfigError(`pool name must be letters, digits, '_', '.' or '-', not ${JSON.stringify(options.name)}.`, { setting: 'name' });
  }
  for (const key of Object.keys(options)) {
    if (!(POOL_KEYS as readonly string[]).includes(key)) throw new BridgeConfigError(`${key} is not a pool option; pool options are ${POOL_KEYS.join(', ')}.`, { setting: key });
  }
  const start = options.start ?? 'eager';
  if (start !== 'eager' && start !== 'lazy') throw new BridgeConfigError(`pool option start must be eager or lazy, not ${show(start)}.`, { setting: 'start' });
  const recycle = optionGroup('recycle', options.recycle, ['maxRequests', 'maxAgeMs', 'maxRssMb']);
  const heartbeat = optionGroup('heartbeat', options.heartbeat, ['intervalMs', 'maxMissed']);
  const python = optionGroup('python', options.python, PYTHON_KEYS);
  if (python.allowPickle !== undefined && typeof python.allowPickle !== 'boolean') {
    throw new BridgeConfigError(`pool option python.allowPickle must be true or false, not ${show(python.allowPickle)}.`, { setting: 'python.allowPickle' });
  }
  const cwd = optionalString('python.cwd', python.cwd);
  const saveDir = optionalString('python.saveDir', python.saveDir);
  return {
    name: options.name,
    size: positiveInt('size', options.size, Math.max(1, availableParallelism())),
    callsPerWorker: positiveInt('callsPerWorker', options.callsPerWorker, 16),
    start,
    maxQueue: positiveInt('maxQueue', options.maxQueue, 1000),
    queueTimeoutMs: positiveMs('queueTimeoutMs', options.queueTimeoutMs, 5000),
    callTimeoutMs: positiveMs('callTimeoutMs', options.callTimeoutMs, 30_000),
    recycle: {
      maxRequests: positiveMs('recycle.maxRequests', recycle.maxRequests, Infinity),
      maxAgeMs: positiveMs('recycle.maxAgeMs', recycle.maxAgeMs, Infinity),
      maxRssMb: positiveMs('recycle.maxRssMb', recycle.maxRssMb, Infinity),
    },
    rssSampleIntervalMs: Math.min(250, positiveMs('rssSampleIntervalMs', options.rssSampleIntervalMs, 100)),
    cancelGraceMs: positiveMs('cancelGraceMs', options.cancelGraceMs, 2000),
    maxThreads: positiveInt('python.maxThreads', python.maxThreads, 16),
    heartbeatIntervalMs: positiveMs('heartbeat.intervalMs', heartbeat.intervalMs, 2000),
    heartbeatMaxMissed: positiveInt('heartbeat.maxMissed', heartbeat.maxMissed, 3),
    sessionTtlMs: positiveMs('sessionTtlMs', options.sessionTtlMs, 30 * 60_000),
    startTimeoutMs: positiveMs('startTimeoutMs', options.startTimeoutMs, 120_000),
    maxRestarts: positiveInt('maxRestarts', options.maxRestarts, 1000),
    maxSeconds: positiveMs('maxSeconds', options.maxSeconds, 5),
    devices: devicesOf(options.devices, gpus),
    executable: optionalString('python.executable', python.executable) ?? findPython(cwd),
    commands: stringList('python.commands', python.commands, MODULE_NAME, 'Python module names (mypkg.commands)'),
    allow: stringList('python.allow', python.allow, ALLOW_PATTERN, "class path patterns ('mypkg.*') without commas or spaces"),
    grant: pythonGrant(python.grant),
    saveDir: saveDir === undefined ? undefined : resolve(saveDir),
    allowPickle: python.allowPickle === true,
    env: pythonEnv(python.env),
    cwd,
    maxFrameBytes: positiveInt('python.maxFrameBytes', python.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES),
  };
}
