// WorkerPool: a piscina pool behind a GenServer. Results, typed task errors with the pool serving on,
// deferred replies (a slow task does not block other calls), abort, a full queue, and destruction of the
// threads however the pool process ends.

import { once } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Runtime, Supervisor, WorkerPool, type Pid } from '../src/index.js';

const silent = () => new Runtime({ logger: pino({ level: 'silent' }) });
const filename = new URL('./fixtures/pool_worker.mjs', import.meta.url);

async function startPool(rt: Runtime, options: { minThreads?: number; maxThreads?: number; maxQueue?: number; name?: string } = {}): Promise<Pid> {
  const started = await WorkerPool.start(rt, { filename, minThreads: 1, maxThreads: 2, ...options });
  if (!('ok' in started)) throw new Error(`pool did not start: ${String('error' in started ? started.error : started)}`);
  return started.ok;
}

// Atomics.waitAsync (Node 16+) is in lib es2024, past this package's lib.
type WaitAsync = (cells: Int32Array, index: number, value: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** A task that blocks its thread until released; `running` resolves once it is on a thread. */
function holdTask() {
  const shared = new SharedArrayBuffer(8);
  const cells = new Int32Array(shared);
  const waiting = waitAsync(cells, 0, 0);
  const running = waiting.async ? waiting.value.then(() => undefined) : Promise.resolve();
  const release = () => {
    Atomics.store(cells, 1, 1);
    Atomics.notify(cells, 1);
  };
  return { task: { op: 'hold', shared }, running, release };
}

describe('WorkerPool', () => {
  it('runs tasks on worker threads, by pid or by name', async () => {
    const rt = silent();
    const pool = await startPool(rt, { name: 'signatures' });
    expect(await WorkerPool.run(rt, pool, { op: 'double', n: 21 })).toBe(42);
    expect(await WorkerPool.run(rt, 'signatures', { op: 'double', n: 2 })).toBe(4);
    expect(await WorkerPool.run<number>(rt, pool, { op: 'thread' })).not.toBe(0); // 0 is the main thread
    await rt.shutdown();
  });

  it('moves the buffers in transferList instead of copying them', async () => {
    const rt = silent();
    const pool = await startPool(rt);
    const buffer = new Uint8Array([1, 2, 3, 4]).buffer;
    expect(await WorkerPool.run(rt, pool, { op: 'sum', buffer }, { transferList: [buffer] })).toBe(10);
    expect(buffer.byteLength).toBe(0); // detached here: it was transferred
    await rt.shutdown();
  });

  it('a task that throws rejects with WorkerTaskError and the pool keeps serving', async () => {
    const rt = silent();
    const pool = await startPool(rt);
    const failed = WorkerPool.run(rt, pool, { op: 'throw', message: 'bad signature' });
    await expect(failed).rejects.toMatchObject({ code: 'DSPEX_WORKER_TASK', cause: { message: 'bad signature' } });
    expect(rt.isAlive(pool)).toBe(true);
    expect(await WorkerPool.run(rt, pool, { op: 'double', n: 5 })).toBe(10);
    await rt.shutdown();
  });

  it('a thread that dies under its task rejects that run, and a new thread takes the next', async () => {
    const rt = silent();
    const pool = await startPool(rt, { minThreads: 1, maxThreads: 1 });
    const before = await WorkerPool.run<number>(rt, pool, { op: 'thread' });
    await expect(WorkerPool.run(rt, pool, { op: 'exit', code: 3 })).rejects.toMatchObject({ code: 'DSPEX_WORKER_TASK' });
    const after = await WorkerPool.run<number>(rt, pool, { op: 'thread' });
    expect(after).not.toBe(before);
    await rt.shutdown();
  });

  it('replies are deferred: a call completes while an earlier task still holds a thread', async () => {
    const rt = silent();
    const pool = await startPool(rt, { minThreads: 2, maxThreads: 2 });
    const hold = holdTask();
    let held = 'pending';
    const slow = WorkerPool.run<string>(rt, pool, hold.task).then((result) => (held = result));
    await hold.running;
    expect(await WorkerPool.run(rt, pool, { op: 'double', n: 4 })).toBe(8);
    expect(held).toBe('pending');
    hold.release();
    expect(await slow).toBe('released');
    await rt.shutdown();
  });

  it('an aborted task rejects with WorkerTaskAbortedError and the pool keeps serving', async () => {
    const rt = silent();
    const pool = await startPool(rt, { minThreads: 1, maxThreads: 1 });
    const hold = holdTask();
    const controller = new AbortController();
    const aborted = WorkerPool.run(rt, pool, hold.task, { signal: controller.signal });
    await hold.running;
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'DSPEX_WORKER_TASK_ABORTED' });
    expect(await WorkerPool.run(rt, pool, { op: 'double', n: 1 })).toBe(2);
    await rt.shutdown();
  });

  it('past maxQueue, run rejects with WorkerQueueFullError', async () => {
    const rt = silent();
    const pool = await startPool(rt, { minThreads: 1, maxThreads: 1, maxQueue: 1 });
    const hold = holdTask();
    const busy = WorkerPool.run(rt, pool, hold.task);
    await hold.running;
    const queued = WorkerPool.run(rt, pool, { op: 'double', n: 3 });
    await expect(WorkerPool.run(rt, pool, { op: 'double', n: 4 })).rejects.toMatchObject({ code: 'DSPEX_WORKER_QUEUE_FULL' });
    hold.release();
    expect(await busy).toBe('released');
    expect(await queued).toBe(6);
    await rt.shutdown();
  });

  it('a missing worker file fails the start with a BadArgumentError', async () => {
    const rt = silent();
    const started = await WorkerPool.start(rt, { filename: '/nonexistent/dspex-worker.mjs' });
    expect(started).toMatchObject({ error: { code: 'DSPEX_BAD_ARGUMENT' } });
  });
});

describe('WorkerPool lifecycle', () => {
  it('a supervisor shutdown destroys piscina before the pool exits; a task in flight gets CallExitError', async () => {
    const rt = silent();
    const started = await Supervisor.start(rt, { children: [WorkerPool.childSpec('engine', { filename, minThreads: 2, maxThreads: 2 })] });
    const sup = (started as { ok: Pid }).ok;
    const [child] = await Supervisor.whichChildren(rt, sup);
    const pool = child!.pid as Pid;
    const piscina = WorkerPool.piscinaOf(rt, pool)!;
    const hold = holdTask();
    const inFlight = expect(WorkerPool.run(rt, pool, hold.task)).rejects.toMatchObject({ code: 'DSPEX_CALL_EXIT', reason: 'shutdown' });
    await hold.running;
    const threads = [...piscina.threads];
    expect(threads).toHaveLength(2);
    let exited = 0;
    for (const thread of threads) thread.once('exit', () => exited++);
    await Supervisor.stop(rt, sup);
    // The threads were gone before the pool process exited, so before the supervisor's stop returned.
    expect(exited).toBe(2);
    expect(piscina.threads).toHaveLength(0);
    await inFlight;
  });

  it('a killed pool (no terminate runs) still destroys piscina', async () => {
    const rt = silent();
    const pool = await startPool(rt, { minThreads: 2, maxThreads: 2 });
    const piscina = WorkerPool.piscinaOf(rt, pool)!;
    expect(await WorkerPool.run(rt, pool, { op: 'double', n: 1 })).toBe(2);
    const exits = piscina.threads.map((thread) => once(thread, 'exit'));
    expect(exits.length).toBeGreaterThan(0);
    rt.exit(pool, 'kill');
    expect(piscina.threads).toHaveLength(0);
    await Promise.all(exits);
  });
});
