// Shared test setup for the bridge: a silent runtime per test, pools started and awaited on their telemetry,
// and a teardown that shuts the runtime down and checks that no Python process it started is still alive.

import { fileURLToPath } from 'node:url';
import { Port, Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { afterEach, expect } from 'vitest';
import { PythonPools, type BridgeTelemetryEvents, type PoolOptions, type PythonPool } from '../src/index.js';

/** The folder of python/tests/fixtures, where the test command module lives. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../python/tests/fixtures', import.meta.url));

/**
 * A PYTHONPATH of `dirs`, then the one this run has (a worktree's python/src, so workers import the bridge being
 * tested rather than the installed one).
 */
export function pythonPath(...dirs: string[]): string {
  return [...dirs, process.env.PYTHONPATH].filter((dir) => dir !== undefined && dir !== '').join(':');
}

/** Python options that load the test commands (hold, release, wait_record, emit_raw, produce, ...). */
export function fixturePython(extra: NonNullable<PoolOptions['python']> = {}): NonNullable<PoolOptions['python']> {
  return { ...extra, commands: ['bridge_node_fixtures', ...(extra.commands ?? [])], env: { PYTHONPATH: pythonPath(FIXTURES_DIR), ...extra.env } };
}

export function silentRuntime(): Runtime {
  return new Runtime({ logger: pino({ level: process.env.DSPEX_TEST_LOG ?? 'silent' }) });
}

/** True while an OS process exists (a reaped one does not). */
export function osAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

type EventName = keyof BridgeTelemetryEvents;
type EventOf<E extends EventName> = BridgeTelemetryEvents[E][0];

/**
 * The next `event` of the pool that satisfies `match`. Subscribe before doing what triggers it: the promise
 * only sees events emitted after this call.
 */
export function nextEvent<E extends EventName>(pool: PythonPool, event: E, match: (e: EventOf<E>) => boolean = () => true): Promise<EventOf<E>> {
  return new Promise((resolve) => {
    const listener = (e: EventOf<E>): void => {
      if (!match(e)) return;
      pool.telemetry.off(event, listener as never);
      resolve(e);
    };
    pool.telemetry.on(event, listener as never);
  });
}

/** Every event of a kind from now on, in order (for asserting on sequences). */
export function collectEvents<E extends EventName>(pool: PythonPool, event: E): EventOf<E>[] {
  const seen: EventOf<E>[] = [];
  pool.telemetry.on(event, ((e: EventOf<E>) => seen.push(e)) as never);
  return seen;
}

export interface BridgeTest {
  /** The test's runtime (a fresh one per test). */
  readonly rt: Runtime;
  /** OS pids of every Python worker this test's runtime spawned. */
  readonly pythonPids: ReadonlySet<number>;
  /** Starts a pool and resolves once `ready` workers have sent their ready frame. */
  pool(options: PoolOptions, ready?: number): Promise<PythonPool>;
}

/**
 * Call at the top of a test file: each test gets a fresh runtime, and `afterEach` shuts it down and fails the
 * test if any Python process it spawned outlived the shutdown.
 */
export function useBridge(): BridgeTest {
  let rt: Runtime | undefined;
  const pythonPids = new Set<number>();

  afterEach(async () => {
    if (rt === undefined) return;
    const stopping = rt;
    rt = undefined;
    await stopping.shutdown(10_000);
    const survivors = [...pythonPids].filter(osAlive);
    pythonPids.clear();
    expect(survivors, 'Python processes alive after the runtime shut down').toEqual([]);
  });

  const runtime = (): Runtime => {
    if (rt === undefined) {
      rt = silentRuntime();
      // The port of a worker is labelled python:<worker id>; its handle (and OS pid) exists once spawn returns.
      rt.telemetry.on('spawn', ({ pid, label }) => {
        if (label?.startsWith('python:') === true) {
          queueMicrotask(() => {
            const handle = Port.handleOf(pid);
            if (handle !== undefined) pythonPids.add(handle.osPid);
          });
        }
      });
    }
    return rt;
  };

  return {
    get rt() {
      return runtime();
    },
    pythonPids,
    pool: (options, ready) => startPool(runtime(), options, ready),
  };
}

/** Starts a pool and waits until `ready` workers have announced themselves (worker_start). */
export async function startPool(rt: Runtime, options: PoolOptions, ready = options.start === 'lazy' ? 0 : (options.size ?? 1)): Promise<PythonPool> {
  const pool = await PythonPools.start(rt, options);
  if (ready === 0) return pool;
  // A worker may have come up before we could listen: the manager's view and the events together cover both.
  const up = new Set<number>();
  let onReady!: () => void;
  const allReady = new Promise<void>((resolve) => (onReady = resolve));
  const count = (osPid: number): void => {
    up.add(osPid);
    if (up.size >= ready) onReady();
  };
  const listener = ({ osPid }: { osPid: number }): void => count(osPid);
  pool.telemetry.on('worker_start', listener);
  for (const osPid of (await pool.stats()).workerOsPids) count(osPid);
  await allReady;
  pool.telemetry.off('worker_start', listener);
  return pool;
}

/** A promise and the functions that settle it, for tools and tests that release work on cue. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The rejection of `promise` (fails the test if it resolves instead). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
}
