// Runaway work is stopped (issue 8, section 4): a timed-out or cancelled call that keeps running in Python past
// cancelGraceMs gets its worker killed and replaced; a worker over recycle.maxRssMb is killed within one RSS
// sample. Each case prints its time to recovery (the figures in the README); bounds are generous (grace + 5 s).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CallTimeout, WorkerCrashed, WorkerOverMemory, type PythonPool } from '../src/index.js';
import { fixturePython, nextEvent, osAlive, rejectionOf, useBridge } from './helpers.js';

const bridge = useBridge();
const GRACE_MS = 2000; // the default cancelGraceMs
const python = fixturePython({ commands: ['bridge_runaway_fixtures'] });
const scratch = mkdtempSync(join(tmpdir(), 'dspex-runaway-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function report(name: string, figures: Record<string, number>): void {
  const rounded = Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Math.round(v)]));
  console.log(`[recovery] ${name}: ${JSON.stringify(rounded)}`);
}

/** Node's and Python's call tables are empty again: nothing leaked by the runaway or the replacement. */
async function expectTablesEmpty(pool: PythonPool): Promise<void> {
  expect(pool.callTables().every((t) => t.calls === 0 && t.cancelling === 0 && t.closing === 0)).toBe(true);
  expect((await pool.stats()).inflight).toBe(0);
  expect(await pool.call('python_call_table')).toMatchObject({ calls: 0, callbacks: 0, unreleased: 0 });
}

/**
 * Times out `command` on a one-worker pool and measures how long until the worker is replaced and a call is
 * served again. Meanwhile an idempotent call on the same worker is retried on the replacement, and a plain one
 * fails with WorkerCrashed naming the runaway.
 */
async function recoverFrom(command: string, name: string): Promise<void> {
  const pool = await bridge.pool({ name, size: 1, python });
  const [osPid] = (await pool.stats()).workerOsPids;
  const exited = nextEvent(pool, 'worker_exit');
  const restarted = nextEvent(pool, 'worker_start');
  const start = performance.now();
  const runaway = pool.call(command, {}, { timeoutMs: 300 });
  // Sync commands on the same worker: blocked until the runaway stops (fresh_whoami), so they need the restart.
  const retried = pool.call<number>('fresh_whoami', {}, { idempotent: true });
  const lost = pool.call<number>('fresh_whoami');
  lost.catch(() => undefined);

  expect(await rejectionOf(runaway)).toBeInstanceOf(CallTimeout);
  const timedOut = performance.now();
  const exit = await exited;
  const killed = performance.now();
  expect(exit).toMatchObject({ kind: 'runaway' });
  expect(exit.detail).toContain(`(${command}) timed out after 300 ms`);
  expect(osAlive(osPid!)).toBe(false); // the core and the thread are free again

  const error = await rejectionOf(lost);
  expect(error).toBeInstanceOf(WorkerCrashed);
  expect(error).toMatchObject({ kind: 'runaway' });
  expect((error as WorkerCrashed).detail).toContain('cancelGraceMs');

  const replacement = await restarted;
  expect(await retried).toBe(replacement.osPid);
  const recovered = performance.now();
  report(name, { timeoutMs: 300, graceMs: GRACE_MS, killedAfterTimeoutMs: killed - timedOut, recoveryAfterTimeoutMs: recovered - timedOut, totalMs: recovered - start });
  expect(recovered - timedOut).toBeLessThan(GRACE_MS + 5000);
  expect(killed - timedOut).toBeGreaterThanOrEqual(GRACE_MS - 50);
  await expectTablesEmpty(pool);
}

describe('a timed-out call that does not stop', () => {
  it('busy loop: the worker is killed after the grace and replaced; others on it fail or are retried', async () => {
    await recoverFrom('busy_loop', 'busy');
  });

  it('blocking sync code: the same', async () => {
    await recoverFrom('block', 'blocked');
  });

  it('a C call holding the GIL (no pong, no reads): the grace still kills it, before the heartbeat would', async () => {
    await recoverFrom('gil_hold', 'gil');
  });
});

describe('a cancelled call that stops within the grace', () => {
  it('keeps its worker: Python reports it released and the grace timer is dropped', async () => {
    const pool = await bridge.pool({ name: 'polite', size: 1, cancelGraceMs: 5000, python });
    const [osPid] = (await pool.stats()).workerOsPids;
    const controller = new AbortController();
    const call = pool.call('ignore_cancel_briefly', { ms: 300 }, { signal: controller.signal });
    await pool.call('python_call_table'); // the call has reached Python
    controller.abort();
    await rejectionOf(call);
    expect(pool.callTables()[0]!.cancelling).toBe(1);
    // Released once the sleep ends: wait on Python's table, then Node's.
    while ((await pool.call<{ unreleased: number }>('python_call_table')).unreleased > 0);
    while (pool.callTables()[0]!.cancelling > 0) await pool.call('ping');
    expect((await pool.stats()).workerOsPids).toEqual([osPid]);
    await expectTablesEmpty(pool);
  });
});

describe('a full thread pool', () => {
  it('every thread blocked by timed-out calls: the worker is replaced and a waiting idempotent call served', async () => {
    const pool = await bridge.pool({ name: 'full', size: 1, python: { ...python, maxThreads: 2 } });
    const start = performance.now();
    const blocked = [pool.call('block', {}, { timeoutMs: 300 }), pool.call('block', {}, { timeoutMs: 300 })];
    const waiting = pool.call<number>('fresh_whoami', {}, { idempotent: true });
    for (const call of blocked) expect(await rejectionOf(call)).toBeInstanceOf(CallTimeout);
    const timedOut = performance.now();
    const pid = await waiting;
    const recovered = performance.now();
    expect((await pool.stats()).workerOsPids).toEqual([pid]);
    report('full thread pool', { timeoutMs: 300, graceMs: GRACE_MS, recoveryAfterTimeoutMs: recovered - timedOut, totalMs: recovered - start });
    expect(recovered - timedOut).toBeLessThan(GRACE_MS + 5000);
    await expectTablesEmpty(pool);
  });

  it('every thread busy past the grace with calls waiting: the worker takes no new work', async () => {
    const pool = await bridge.pool({ name: 'saturated', size: 2, cancelGraceMs: 300, heartbeat: { intervalMs: 100 }, python: { ...python, maxThreads: 1 } });
    const session = pool.session();
    const holder = session.call('block', {}, { timeoutMs: Infinity });
    holder.catch(() => undefined);
    const [busyPid] = [(await session.call<{ pid: number }>('whoami')).pid];
    const recycled = nextEvent(pool, 'worker_recycle');
    const queuedInPython = session.call('fresh_whoami', {}, { timeoutMs: Infinity });
    queuedInPython.catch(() => undefined);
    expect(await recycled).toMatchObject({ why: 'saturated' });
    for (let i = 0; i < 4; i++) expect((await pool.call<{ pid: number }>('whoami')).pid).not.toBe(busyPid);
  });
});

describe('a memory bomb', () => {
  it('is killed within one RSS sample of passing maxRssMb; the caller gets WorkerOverMemory with the figures', async () => {
    const limitMb = 300;
    const pool = await bridge.pool({ name: 'bomb', size: 1, recycle: { maxRssMb: limitMb }, python });
    const crossedFile = join(scratch, 'crossed');
    const restarted = nextEvent(pool, 'worker_start');
    const start = performance.now();
    const error = await rejectionOf(pool.call('alloc_bomb', { limit_mb: limitMb, crossed_file: crossedFile }, { timeoutMs: Infinity }));
    const failedAt = Date.now();
    const failed = performance.now();
    expect(error).toBeInstanceOf(WorkerOverMemory);
    const over = error as WorkerOverMemory;
    expect(over).toMatchObject({ code: 'DSPEX_WORKER_OVER_MEMORY', limitMb });
    expect(over.rssMb).toBeGreaterThanOrEqual(limitMb);
    expect(over.message).toContain(`limit of ${limitMb} MB`);
    const overLimitMs = failedAt - Number(readFileSync(crossedFile, 'utf8'));
    await restarted;
    expect(await pool.call('ping', { again: true })).toEqual({ again: true });
    const recovered = performance.now();
    report('memory bomb', { limitMb, rssSeenMb: over.rssMb, sampleIntervalMs: 100, overLimitMs, failedAfterMs: failed - start, recoveryMs: recovered - start });
    expect(over.rssMb).toBeLessThan(2048);
    expect(overLimitMs).toBeLessThan(250 + 1000); // one sampling interval, plus a loaded machine's slack
    await expectTablesEmpty(pool);
  });
});
