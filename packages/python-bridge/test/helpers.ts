// Shared test setup for the bridge: a silent runtime, a pool started for the test, teardown that waits
// for every worker's OS process to be gone.

import { Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { PythonPools, type PoolOptions, type PythonPool } from '../src/index.js';

export function silentRuntime(): Runtime {
  return new Runtime({ logger: pino({ level: process.env.DSPEX_TEST_LOG ?? 'silent' }) });
}

/** Starts a pool and waits until `ready` workers have announced themselves (the worker_start event). */
export async function startPool(rt: Runtime, options: PoolOptions, ready = options.size ?? 1): Promise<PythonPool> {
  let started = 0;
  let onReady!: () => void;
  const allReady = new Promise<void>((resolve) => (onReady = resolve));
  const pool = await PythonPools.start(rt, options);
  pool.telemetry.on('worker_start', () => {
    started++;
    if (started === ready) onReady();
  });
  if (ready > 0) await allReady;
  return pool;
}

/** True while an OS process exists. */
export function osAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
