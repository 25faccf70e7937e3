// Observation for tests: wait for the event that proves a behaviour instead of sleeping. The next telemetry
// event, a process's exit reason, a collector process that keeps every message it gets, and a random process
// picked from a live supervision tree (the victim of a chaos step).

import type { Pid } from '../process.js';
import type { ExitReason } from '../reasons.js';
import { asProcess, type Runtime } from '../runtime.js';
import type { TelemetryEventName, TelemetryEvents } from '../telemetry.js';
import { supervisionTree, type TreeNode } from '../tree.js';
import { seededRandom } from './random.js';

/** Resolves to the next `name` telemetry event for which `predicate` holds (any, without one). */
export function nextEvent<K extends TelemetryEventName>(
  rt: Runtime,
  name: K,
  predicate?: (event: TelemetryEvents[K][0]) => boolean,
): Promise<TelemetryEvents[K][0]> {
  type Listener = (event: TelemetryEvents[K][0]) => void;
  const on = rt.telemetry.on as (name: K, listener: Listener) => unknown;
  const off = rt.telemetry.off as (name: K, listener: Listener) => unknown;
  return new Promise((resolve) => {
    const listener: Listener = (event) => {
      if (predicate !== undefined && !predicate(event)) return;
      off.call(rt.telemetry, name, listener);
      resolve(event);
    };
    on.call(rt.telemetry, name, listener);
  });
}

/** Resolves to the exit reason of `pid` once it has exited (at once if it already has). */
export function awaitDown(rt: Runtime, pid: Pid): Promise<ExitReason> {
  const process = asProcess(pid);
  if (!process.alive) return Promise.resolve(process.exitReason);
  return new Promise((resolve) => rt.watch(process, (reason) => resolve(reason)));
}

/** A process that traps exits and keeps every message it receives: the test's eyes inside the runtime. */
export interface Collector {
  readonly pid: Pid;
  /** Every message received so far, in arrival order (including those taken by next). */
  readonly messages: readonly unknown[];
  /** The first message not yet taken by `next` that matches (any, without `match`), waiting for one if needed. */
  next<T>(match: (message: unknown) => message is T): Promise<T>;
  next(match?: (message: unknown) => boolean): Promise<unknown>;
  /** Ends the collector (exit reason 'normal'). */
  stop(): void;
}

/** Spawns a Collector (optionally registered under `name`). */
export function collector(rt: Runtime, options: { name?: string } = {}): Collector {
  const messages: unknown[] = [];
  const untaken: unknown[] = [];
  const waiters: Array<{ match: ((message: unknown) => boolean) | undefined; resolve: (message: unknown) => void }> = [];
  const pid = rt.spawn(
    (message: unknown) => {
      messages.push(message);
      const at = waiters.findIndex((w) => w.match === undefined || w.match(message));
      if (at >= 0) waiters.splice(at, 1)[0]!.resolve(message);
      else untaken.push(message);
    },
    { trapExit: true, label: 'collector', ...(options.name === undefined ? {} : { name: options.name }) },
  );
  function next(match?: (message: unknown) => boolean): Promise<unknown> {
    const at = untaken.findIndex((m) => match === undefined || match(m));
    if (at >= 0) return Promise.resolve(untaken.splice(at, 1)[0]);
    return new Promise((resolve) => waiters.push({ match, resolve }));
  }
  return {
    pid,
    messages,
    next: next as Collector['next'],
    stop: () => asProcess(pid).exit('normal'),
  };
}

const streams = new WeakMap<Runtime, () => number>();
function runtimeStream(rt: Runtime): () => number {
  let stream = streams.get(rt);
  if (stream === undefined) streams.set(rt, (stream = seededRandom(1)));
  return stream;
}

/** Options of randomProcess. */
export interface RandomProcessOptions {
  /** Source of randomness in [0, 1). Default: a PRNG seeded with `seed`, or without one, the runtime's own
   *  seeded stream (seed 1), so successive picks differ and a rerun picks the same victims. */
  random?: () => number;
  seed?: number;
  /** Only workers, not the supervisors below the root (default false: any process below the root). */
  workersOnly?: boolean;
}

/**
 * A random running process below `root` in its supervision tree, found by walking it with whichChildren
 * (Supervisor and DynamicSupervisor alike). The root itself is never picked. Undefined when nothing runs.
 */
export async function randomProcess(rt: Runtime, root: Pid, options: RandomProcessOptions = {}): Promise<Pid | undefined> {
  const random = options.random ?? (options.seed === undefined ? runtimeStream(rt) : seededRandom(options.seed));
  const candidates: Pid[] = [];
  const visit = (node: TreeNode, isRoot: boolean): void => {
    if (!isRoot && typeof node.pid === 'object' && (node.type === 'worker' || options.workersOnly !== true)) candidates.push(node.pid);
    for (const child of node.children) visit(child, false);
  };
  visit(await supervisionTree(rt, root), true);
  if (candidates.length === 0) return undefined;
  return candidates[Math.floor(random() * candidates.length)];
}
