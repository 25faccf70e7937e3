// Chaos under load: a pool of two Python workers serves a steady stream of calls while a timer in the test
// SIGKILLs one of its Python processes every few hundred milliseconds. What a caller relies on: every call
// settles with its result or a typed error within its timeouts (none hangs, none vanishes), idempotent calls
// survive a crash by running again elsewhere, and the pool heals back to full size. A call retried after a
// crash still gets QueueTimeout when no worker comes back, rather than waiting forever.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PythonPools, ProtocolError, QueueTimeout, WorkerCrashed, findPython, type BridgeError, type PythonPool } from '@dspex/python-bridge';
import type { Runtime } from '@dspex/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { chaosSeed, fullStrength, seededRandom, silentRuntime } from './helpers.js';

const SIZE = 2;
/** Calls in flight at once: enough to keep both workers' slots (16 each) full, so kills hit running calls. */
const CONCURRENCY = 32;
/** The load runs while the chaos lasts, and at least this many calls; MAX_CALLS only bounds a runaway loop. */
const MIN_CALLS = 3000;
const MAX_CALLS = 5_000_000;
const KILLS = 20;
/** The chaos timer's period, and how many ticks it may take to land its kills. */
const TICK_MS = 250;
const MAX_TICKS = 200;
const CALL_TIMEOUT_MS = 10_000;
const QUEUE_TIMEOUT_MS = 10_000;
/** A call still unsettled this long after it was made has hung: the bridge promised an answer by then. */
const HUNG_AFTER_MS = CALL_TIMEOUT_MS + QUEUE_TIMEOUT_MS + 2000;

/** The errors a call may fail with when its worker is killed under it. */
const TYPED = [WorkerCrashed, ProtocolError, QueueTimeout] as const;

type Outcome = { kind: 'ok' } | { kind: 'wrong-result'; got: unknown } | { kind: 'typed'; code: string } | { kind: 'untyped'; error: unknown } | { kind: 'hung' };

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The Python test commands (hold, wait_record, ...) of the bridge's own suite. */
const FIXTURES = join(ROOT, 'python/tests/fixtures');

let rt: Runtime | undefined;
let scratch: string | undefined;
afterEach(async () => {
  await rt?.shutdown(10_000);
  rt = undefined;
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

/** Settles with the call's outcome; a watchdog timer turns a call that never settles into 'hung'. */
function observe(pool: PythonPool, i: number, idempotent: boolean): Promise<Outcome> {
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<Outcome>((resolve) => (watchdog = setTimeout(() => resolve({ kind: 'hung' }), HUNG_AFTER_MS)));
  const settled = pool.call<{ i: number }>('ping', { i, pad: 'x'.repeat(i % 7 === 0 ? 20_000 : 16) }, { idempotent }).then(
    (value): Outcome => (value?.i === i ? { kind: 'ok' } : { kind: 'wrong-result', got: value }),
    (error: unknown): Outcome => (TYPED.some((type) => error instanceof type) ? { kind: 'typed', code: (error as BridgeError).code } : { kind: 'untyped', error }),
  );
  return Promise.race([settled, hung]).finally(() => clearTimeout(watchdog));
}

describe('pool under SIGKILL chaos', () => {
  it('settles every call with a result or a typed error, retries idempotent calls, and heals to full size', async () => {
    const seed = chaosSeed();
    const random = seededRandom(seed);
    const why = `chaos seed ${seed} (replay with DSPEX_CHAOS_SEED=${seed})`;
    rt = silentRuntime();
    const pool = await PythonPools.start(rt, { name: 'chaos', size: SIZE, callTimeoutMs: CALL_TIMEOUT_MS, queueTimeoutMs: QUEUE_TIMEOUT_MS, maxQueue: 10_000 });
    await fullStrength(pool, SIZE);
    const exits: string[] = [];
    pool.telemetry.on('worker_exit', (e) => exits.push(e.kind));

    // The chaos source: every TICK_MS, SIGKILL one worker's Python process, chosen at random, if the pool is at
    // full size. One worker is down at a time at most, so an idempotent call's single retry always finds a
    // worker that was not killed under it.
    const killed: number[] = [];
    let ticks = 0;
    let chaosOver = false;
    let chaosFailure: unknown;
    const chaosDone = new Promise<void>((resolve) => {
      const tick = async (): Promise<void> => {
        ticks++;
        const { workers, workerOsPids } = await pool.stats();
        // Full size, counting only workers the manager knows and that were not killed already (their death
        // may not have reached it yet).
        if (workers === SIZE && !workerOsPids.some((pid) => killed.includes(pid))) {
          const victim = workerOsPids[Math.floor(random() * workerOsPids.length)]!;
          process.kill(victim, 'SIGKILL');
          killed.push(victim);
        }
        if (killed.length >= KILLS || ticks >= MAX_TICKS) {
          chaosOver = true;
          resolve();
        } else {
          setTimeout(() => void tick().catch(fail), TICK_MS);
        }
      };
      const fail = (error: unknown): void => {
        chaosFailure = error;
        chaosOver = true;
        resolve();
      };
      setTimeout(() => void tick().catch(fail), TICK_MS);
    });

    // The load: CONCURRENCY lanes, each making one call after another; every other call is idempotent.
    let submitted = 0;
    const tally = { settled: 0, ok: 0, typed: 0, hung: 0, wrongResults: 0, untyped: [] as string[], idempotentFailed: [] as string[], typedCodes: new Set<string>() };
    const lane = async (): Promise<void> => {
      while (submitted < MAX_CALLS && (submitted < MIN_CALLS || !chaosOver)) {
        const i = submitted++;
        const idempotent = i % 2 === 0;
        const outcome = await observe(pool, i, idempotent);
        tally.settled++;
        if (outcome.kind === 'ok') tally.ok++;
        else if (outcome.kind === 'typed') {
          tally.typed++;
          tally.typedCodes.add(outcome.code);
        } else if (outcome.kind === 'hung') tally.hung++;
        else if (outcome.kind === 'wrong-result') tally.wrongResults++;
        else tally.untyped.push(String(outcome.error));
        if (idempotent && outcome.kind !== 'ok') tally.idempotentFailed.push(outcome.kind === 'typed' ? outcome.code : outcome.kind);
      }
    };
    await Promise.all([chaosDone, ...Array.from({ length: CONCURRENCY }, lane)]);
    expect(chaosFailure, why).toBeUndefined();

    const summary = { submitted, ...tally, untyped: tally.untyped.slice(0, 5), idempotentFailed: tally.idempotentFailed.slice(0, 5), typedCodes: [...tally.typedCodes], kills: killed.length, ticks };
    const context = `${why}: ${JSON.stringify(summary)}`;
    if (process.env.DSPEX_CHAOS_VERBOSE !== undefined) process.stderr.write(`${context}\n`);

    // The chaos did happen, under load from start to end, and it hit calls that were running.
    expect(killed.length, context).toBe(KILLS);
    expect(submitted, context).toBeLessThan(MAX_CALLS);
    expect(summary.typed, context).toBeGreaterThan(0);
    // Nothing vanished, nothing hung, nothing got someone else's answer.
    expect(summary.settled, context).toBe(submitted);
    expect(summary.ok + summary.typed, context).toBe(submitted);
    expect(summary.hung, context).toBe(0);
    expect(summary.untyped, context).toEqual([]);
    expect(summary.wrongResults, context).toBe(0);
    // A crash under an idempotent call is invisible to its caller: it ran again on the other worker.
    expect(summary.idempotentFailed, context).toEqual([]);

    // Each kill was seen as a kill, and the pool heals: full size, new processes, serving again.
    await fullStrength(pool, SIZE, killed);
    expect(exits.filter((kind) => kind === 'killed').length, context).toBe(KILLS);
    const answers = await Promise.all(Array.from({ length: 2 * SIZE }, (_, i) => pool.call<{ i: number }>('ping', { i })));
    expect(answers.map((a) => a.i)).toEqual([0, 1, 2, 3]);
  });

  it('gives a call retried after a crash QueueTimeout when no worker comes back, instead of a hang', { timeout: 20_000 }, async () => {
    // A Python that starts once: every later start of the worker hangs before its ready frame.
    scratch = mkdtempSync(join(tmpdir(), 'dspex-chaos-'));
    const pythonOnce = join(scratch, 'python-once');
    writeFileSync(pythonOnce, `#!/bin/sh\nif [ -e '${scratch}/started' ]; then exec sleep 600; fi\n: > '${scratch}/started'\nexec '${findPython(ROOT)}' "$@"\n`, { mode: 0o755 });
    rt = silentRuntime();
    const pool = await PythonPools.start(rt, {
      name: 'retry-timeout',
      size: 1,
      queueTimeoutMs: 500,
      python: { executable: pythonOnce, commands: ['bridge_node_fixtures'], env: { PYTHONPATH: FIXTURES } },
    });
    const [osPid] = await fullStrength(pool, 1);
    const held = pool.call('hold', { tag: 'retried' }, { idempotent: true }).then(
      () => new Error('the held call answered, but its worker was killed under it'),
      (error: unknown) => error,
    );
    await pool.call('wait_record', { tag: 'started:retried' });

    process.kill(osPid!, 'SIGKILL');

    // The call is retried, waits for a worker that never comes, and gets the queue's timeout.
    expect(await held).toBeInstanceOf(QueueTimeout);
  });
});
