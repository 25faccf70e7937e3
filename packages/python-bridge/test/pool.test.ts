// A pool as callers see it: calls spread over workers and run concurrently, the bounded FIFO queue, its
// timeouts, cancellation that reaches Python, lazy start, and the errors a bad call gets while the pool serves on.

import { describe, expect, it } from 'vitest';
import {
  CallCancelled,
  CallTimeout,
  PoolClosed,
  PoolSaturated,
  ProtocolError,
  BadArguments,
  PythonException,
  QueueTimeout,
} from '../src/index.js';
import { collectEvents, fixturePython, osAlive, rejectionOf, useBridge } from './helpers.js';

const bridge = useBridge();

interface Who {
  pid: number;
  args: Record<string, unknown>;
}

describe('pool basics', () => {
  it('runs ping and info in real Python workers', async () => {
    const pool = await bridge.pool({ name: 'basics', size: 2 });
    expect(await pool.call('ping', { hello: 'world', n: [1, 2.5, null] })).toEqual({ hello: 'world', n: [1, 2.5, null] });
    const info = await pool.call<{ pid: number; versions: Record<string, string>; run_id: string }>('info');
    expect(info.versions.dspy).toMatch(/^3\.4\./);
    expect(info.run_id.startsWith(`${process.pid}.`)).toBe(true);
    const stats = await pool.stats();
    expect(stats.workers).toBe(2);
    expect(stats.workerOsPids).toContain(info.pid);
  });

  it('spreads concurrent calls over the workers, many in flight on each at once', async () => {
    const pool = await bridge.pool({ name: 'spread', size: 2, python: fixturePython() });
    // Each barrier call returns only when 10 of them run at the same time in its process.
    const results = await Promise.all(Array.from({ length: 20 }, () => pool.call<{ pid: number }>('barrier', { name: 'b', parties: 10 })));
    const perPid = new Map<number, number>();
    for (const { pid } of results) perPid.set(pid, (perPid.get(pid) ?? 0) + 1);
    expect([...perPid.values()]).toEqual([10, 10]);
    expect(new Set(perPid.keys())).toEqual(new Set((await pool.stats()).workerOsPids));
  });
});

describe('queue', () => {
  it('queues in FIFO order up to maxQueue, then refuses with PoolSaturated', async () => {
    const pool = await bridge.pool({ name: 'bounded', size: 1, callsPerWorker: 1, maxQueue: 2, python: fixturePython() });
    const stopHolder = new AbortController();
    const holder = pool.call('hold', { tag: 'fifo' }, { signal: stopHolder.signal });
    const done: number[] = [];
    const first = pool.call<Who>('whoami', { n: 1 }).then((r) => done.push(r.args.n as number));
    const second = pool.call<Who>('whoami', { n: 2 }).then((r) => done.push(r.args.n as number));
    const refused = await rejectionOf(pool.call('whoami', { n: 3 }));
    expect(refused).toBeInstanceOf(PoolSaturated);
    expect(refused).toMatchObject({ code: 'DSPEX_POOL_SATURATED', pool: 'bounded', queueLimit: 2, retryable: true });
    expect(await pool.stats()).toMatchObject({ inflight: 1, queued: 2 });
    stopHolder.abort();
    expect(await rejectionOf(holder)).toBeInstanceOf(CallCancelled);
    await Promise.all([first, second]);
    expect(done).toEqual([1, 2]);
  });

  it('fails a call that waited longer than queueTimeoutMs with QueueTimeout', async () => {
    const pool = await bridge.pool({ name: 'waits', size: 1, callsPerWorker: 1, queueTimeoutMs: 150, python: fixturePython() });
    const stopHolder = new AbortController();
    const holder = pool.call('hold', { tag: 'qt' }, { signal: stopHolder.signal });
    const queuedAt = performance.now();
    const timedOut = await rejectionOf(pool.call('whoami'));
    expect(timedOut).toBeInstanceOf(QueueTimeout);
    expect(timedOut).toMatchObject({ code: 'DSPEX_QUEUE_TIMEOUT', pool: 'waits', waitedMs: 150 });
    expect(performance.now() - queuedAt).toBeGreaterThanOrEqual(140);
    expect((await pool.stats()).queued).toBe(0);
    stopHolder.abort();
    await rejectionOf(holder);
    expect((await pool.call<Who>('whoami', { after: true })).args).toEqual({ after: true });
  });
});

describe('timeouts and cancellation', () => {
  it('fails a call that runs past timeoutMs with CallTimeout and cancels it in Python', async () => {
    const pool = await bridge.pool({ name: 'timeout', size: 1, python: fixturePython() });
    const timedOut = await rejectionOf(pool.call('hold', { tag: 'slow' }, { timeoutMs: 200 }));
    expect(timedOut).toBeInstanceOf(CallTimeout);
    expect(timedOut).toMatchObject({ code: 'DSPEX_CALL_TIMEOUT', command: 'hold', timeoutMs: 200 });
    // `hold` records this only after Python's cancel woke it up, and then stops without a result.
    const cancelled = await pool.call<{ pid: number }>('wait_record', { tag: 'cancelled:slow' });
    expect(cancelled.pid).toBe((await pool.stats()).workerOsPids[0]);
  });

  it('cancels a running call with its AbortSignal: CallCancelled here, the work stopped in Python', async () => {
    const pool = await bridge.pool({ name: 'abort', size: 1, python: fixturePython() });
    const controller = new AbortController();
    const running = pool.call('hold', { tag: 'ab' }, { signal: controller.signal });
    await pool.call('wait_record', { tag: 'started:ab' });
    controller.abort();
    const error = await rejectionOf(running);
    expect(error).toBeInstanceOf(CallCancelled);
    expect(error).toMatchObject({ code: 'DSPEX_CALL_CANCELLED', command: 'hold' });
    expect(await pool.call('wait_record', { tag: 'cancelled:ab' })).toMatchObject({ pid: expect.any(Number) });
  });

  it('cancels a queued call before it ever reaches Python, and refuses an already aborted signal', async () => {
    const pool = await bridge.pool({ name: 'abortq', size: 1, callsPerWorker: 1, python: fixturePython() });
    const stopHolder = new AbortController();
    const holder = pool.call('hold', { tag: 'h' }, { signal: stopHolder.signal });
    const controller = new AbortController();
    const queued = pool.call('hold', { tag: 'never' }, { signal: controller.signal });
    expect((await pool.stats()).queued).toBe(1);
    controller.abort();
    expect(await rejectionOf(queued)).toBeInstanceOf(CallCancelled);
    expect((await pool.stats()).queued).toBe(0);
    expect(await rejectionOf(pool.call('hold', { tag: 'never' }, { signal: controller.signal }))).toBeInstanceOf(CallCancelled);
    stopHolder.abort();
    await rejectionOf(holder);
    expect(await pool.call('peek_record', { tag: 'started:never' })).toBeNull();
  });
});

describe('starting and stopping', () => {
  it('starts no Python process in a lazy pool until the first call', async () => {
    const pool = await bridge.pool({ name: 'lazy', size: 2, start: 'lazy' });
    const starts = collectEvents(pool, 'worker_start');
    expect(await pool.stats()).toMatchObject({ workers: 0, inflight: 0 });
    expect(bridge.pythonPids.size).toBe(0);
    expect(await pool.call('ping', { first: 1 })).toEqual({ first: 1 });
    expect(starts).toHaveLength(1);
    expect((await pool.stats()).workers).toBe(1);
    expect(bridge.pythonPids.size).toBe(1);
  });

  it('stop() fails calls in flight with PoolClosed and leaves no Python process behind', async () => {
    const pool = await bridge.pool({ name: 'stopping', size: 2, python: fixturePython() });
    const session = pool.session(); // both calls on one worker
    const running = rejectionOf(session.call('hold', { tag: 'stop' }));
    await session.call('wait_record', { tag: 'started:stop' });
    const pids = [...bridge.pythonPids];
    expect(pids).toHaveLength(2);
    expect(pids.every(osAlive)).toBe(true);
    await pool.stop();
    expect(pids.filter(osAlive)).toEqual([]);
    expect(await running).toBeInstanceOf(PoolClosed);
    expect(await rejectionOf(pool.call('ping'))).toBeInstanceOf(PoolClosed);
  });
});

describe('bad calls', () => {
  it('reports an unknown command as a PythonException and keeps serving', async () => {
    const pool = await bridge.pool({ name: 'unknown', size: 1 });
    const error = await rejectionOf(pool.call('no_such_command', { a: 1 }));
    expect(error).toBeInstanceOf(PythonException);
    expect(error).toMatchObject({ code: 'DSPEX_PYTHON_EXCEPTION', pythonType: 'UnknownCommand', command: 'no_such_command' });
    expect((error as PythonException).pythonMessage).toContain('no_such_command');
    expect(await pool.call('ping', { still: 'serving' })).toEqual({ still: 'serving' });
  });

  it('refuses to build classes outside the allow-list (NotAllowed), and honours python.allow', async () => {
    const pool = await bridge.pool({ name: 'allow', size: 1, python: { allow: ['dspy.Predict'] } });
    for (const path of ['subprocess.Popen', 'builtins.eval', 'dspy.ChainOfThought']) {
      const error = await rejectionOf(pool.call('create', { class: path, args: ['question -> answer'] }));
      expect(error, path).toBeInstanceOf(PythonException);
      expect((error as PythonException).pythonType, path).toBe('NotAllowed');
    }
    expect(await pool.call('create', { class: 'dspy.Predict', args: ['question -> answer'] })).toMatchObject({ class: 'dspy.Predict' });
  });

  it('fails a call whose arguments cannot be encoded with BadArguments, and keeps serving on the same worker', async () => {
    const pool = await bridge.pool({ name: 'unencodable', size: 1, callsPerWorker: 1, python: fixturePython() });
    const before = await pool.call<Who>('whoami');
    for (const args of [{ callback: () => 1 }, { nested: [{ id: Symbol('x') }] }]) {
      const error = await rejectionOf(pool.call('whoami', args));
      expect(error).toBeInstanceOf(BadArguments);
    }
    // callsPerWorker is 1: this only runs if the failed calls gave their slot back.
    expect((await pool.call<Who>('whoami', { ok: 1 })).pid).toBe(before.pid);
  });

  it('fails a request frame over python.maxFrameBytes with ProtocolError, and keeps serving on the same worker', async () => {
    const pool = await bridge.pool({ name: 'oversized', size: 1, callsPerWorker: 1, python: fixturePython({ maxFrameBytes: 2048 }) });
    const before = await pool.call<Who>('whoami');
    const error = await rejectionOf(pool.call('whoami', { text: 'x'.repeat(4096) }));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).kind).toBe('FrameTooLarge');
    expect((await pool.call<Who>('whoami', { text: 'x'.repeat(1000) })).pid).toBe(before.pid);
  });
});
