// Worker health: a hung Python process is found by its missed heartbeats and replaced; a crash is classified
// by how the process died; an idempotent call survives its worker's death; workers are recycled after
// maxRequests without failing a call.

import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CallTimeout, WorkerCrashed, type PythonPool } from '../src/index.js';
import { collectEvents, fixturePython, nextEvent, osAlive, rejectionOf, useBridge } from './helpers.js';

const bridge = useBridge();

interface Who {
  pid: number;
}

/** Starts a `hold` call on the pool's only worker and resolves once Python runs it. */
async function callInFlight(pool: PythonPool, tag: string): Promise<{ call: Promise<unknown>; osPid: number }> {
  const call = pool.call('hold', { tag });
  call.catch(() => undefined); // observed by the test later
  const osPid = await pool.call<number>('wait_record', { tag: `started:${tag}` });
  return { call, osPid };
}

describe('heartbeat', () => {
  it('kills and replaces a worker whose Python process stops answering pings', async () => {
    const pool = await bridge.pool({ name: 'hb', size: 1, heartbeat: { intervalMs: 150, maxMissed: 3 }, python: fixturePython() });
    const { call, osPid } = await callInFlight(pool, 'frozen');
    const misses = collectEvents(pool, 'heartbeat_miss');
    const exited = nextEvent(pool, 'worker_exit');
    const restarted = nextEvent(pool, 'worker_start');
    process.kill(osPid, 'SIGSTOP');

    const exit = await exited;
    expect(exit).toMatchObject({ kind: 'heartbeat', detail: '3 pings unanswered' });
    expect(misses.slice(-2).map((m) => m.missed)).toEqual([1, 2]);
    expect(osAlive(osPid)).toBe(false);
    const error = await rejectionOf(call);
    expect(error).toBeInstanceOf(WorkerCrashed);
    expect(error).toMatchObject({ kind: 'heartbeat', retryable: true });

    const replacement = await restarted;
    expect(replacement.osPid).not.toBe(osPid);
    expect((await pool.call<Who>('whoami')).pid).toBe(replacement.osPid);
  });
});

describe('crashes', () => {
  it('classifies how a worker died: SIGKILL killed, SIGSEGV segfault, SIGABRT abort', async () => {
    const pool = await bridge.pool({ name: 'crashes', size: 1, python: fixturePython() });
    for (const [signal, kind] of [['SIGKILL', 'killed'], ['SIGSEGV', 'segfault'], ['SIGABRT', 'abort']] as const) {
      const { call, osPid } = await callInFlight(pool, `crash-${signal}`);
      const exited = nextEvent(pool, 'worker_exit');
      const restarted = nextEvent(pool, 'worker_start');
      process.kill(osPid, signal);
      const error = await rejectionOf(call);
      expect(error, signal).toBeInstanceOf(WorkerCrashed);
      expect(error, signal).toMatchObject({ code: 'DSPEX_WORKER_CRASHED', kind, detail: signal, retryable: true });
      expect((await exited).kind).toBe(kind);
      expect((await restarted).osPid).not.toBe(osPid);
    }
    expect(await pool.call('ping', { after: 'crashes' })).toEqual({ after: 'crashes' });
  });

  describe('idempotent calls', () => {
    const markers: string[] = [];
    const marker = (): string => {
      const path = join(tmpdir(), `dspex-die-once-${randomUUID()}`);
      markers.push(path);
      return path;
    };
    afterEach(() => {
      for (const path of markers.splice(0)) rmSync(path, { force: true });
    });

    it('retries an idempotent call once on another worker when its worker dies, and it succeeds', async () => {
      const pool = await bridge.pool({ name: 'retry', size: 2, python: fixturePython() });
      const path = marker();
      const exited = nextEvent(pool, 'worker_exit');
      const result = await pool.call<Who>('die_once', { marker: path }, { idempotent: true });
      const diedIn = Number(readFileSync(path, 'utf8'));
      expect((await exited).kind).toBe('killed');
      expect(result.pid).not.toBe(diedIn);
      expect((await pool.stats()).workerOsPids).toContain(result.pid);
    });

    it('gives the retry its own timeout, and cancels it on the worker it was retried on', async () => {
      // One worker: the retry waits for its replacement, then runs there.
      const pool = await bridge.pool({ name: 'retrytimeout', size: 1, python: fixturePython() });
      const path = marker();
      const error = await rejectionOf(pool.call('die_once', { marker: path, then_hold: 'retried' }, { idempotent: true, timeoutMs: 300 }));
      expect(error).toBeInstanceOf(CallTimeout);
      const cancelled = await pool.call<{ pid: number }>('wait_record', { tag: 'cancelled:retried' });
      expect(cancelled.pid).not.toBe(Number(readFileSync(path, 'utf8')));
      expect((await pool.stats()).workerOsPids).toEqual([cancelled.pid]);
    });

    it('does not retry a call that is not marked idempotent', async () => {
      const pool = await bridge.pool({ name: 'noretry', size: 2, python: fixturePython() });
      const error = await rejectionOf(pool.call('die_once', { marker: marker() }));
      expect(error).toBeInstanceOf(WorkerCrashed);
      expect(error).toMatchObject({ kind: 'killed' });
    });
  });
});

describe('recycling', () => {
  it('replaces a worker after recycle.maxRequests calls without failing any call', async () => {
    const pool = await bridge.pool({ name: 'recycle', size: 1, recycle: { maxRequests: 3 }, python: fixturePython() });
    const recycles = collectEvents(pool, 'worker_recycle');
    const exits = collectEvents(pool, 'worker_exit');
    const starts = collectEvents(pool, 'worker_start');
    const pids: number[] = [];
    for (let i = 0; i < 7; i++) pids.push((await pool.call<Who>('whoami', { i })).pid);
    const [a, b, c] = [pids[0], pids[3], pids[6]];
    expect(pids).toEqual([a, a, a, b, b, b, c]);
    expect(new Set([a, b, c]).size).toBe(3);
    expect(recycles.map((r) => r.why)).toEqual(['requests', 'requests']);
    expect(exits.map((e) => e.kind)).toEqual(['recycled', 'recycled']);
    expect(starts.map((s) => s.osPid)).toEqual([b, c]);
    expect([a, b].filter((pid) => osAlive(pid!))).toEqual([]);
  });
});
