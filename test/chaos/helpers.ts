// Shared setup of the chaos tests: a silent runtime, a seeded random source whose seed every failure message
// carries, and a wait for a pool to be back at full strength that listens to worker_start telemetry.

import { Runtime } from '@dspex/runtime';
import type { PythonPool } from '@dspex/python-bridge';
import { pino } from 'pino';

export function silentRuntime(): Runtime {
  return new Runtime({ logger: pino({ level: process.env.DSPEX_TEST_LOG ?? 'silent' }) });
}

/** mulberry32: a small seeded generator, so a failing chaos run can be replayed with DSPEX_CHAOS_SEED. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function chaosSeed(): number {
  const fromEnv = process.env.DSPEX_CHAOS_SEED;
  return fromEnv === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(fromEnv);
}

/**
 * Resolves with the workers' OS pids once the pool's manager knows `size` workers, none of them one of the
 * `gone` processes (killed, though the manager may not have heard yet). Each round subscribes to
 * the next worker_start before asking the manager, so a worker that starts in between is not missed (the
 * worker tells the manager right after the event, and a later stats() call is queued behind that).
 */
export async function fullStrength(pool: PythonPool, size: number, gone: readonly number[] = []): Promise<number[]> {
  let wake = (): void => undefined;
  const onStart = (): void => wake();
  pool.telemetry.on('worker_start', onStart);
  try {
    for (;;) {
      const started = new Promise<void>((resolve) => (wake = resolve));
      const stats = await pool.stats();
      if (stats.workers === size && !stats.workerOsPids.some((pid) => gone.includes(pid))) return stats.workerOsPids;
      await started;
    }
  } finally {
    pool.telemetry.off('worker_start', onStart);
  }
}
