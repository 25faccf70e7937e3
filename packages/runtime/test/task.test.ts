// Task, TaskSupervisor and asyncStream, after Elixir's task_test.exs and task/supervisor_test.exs. Tasks
// are held on gates (deferred promises) the test opens, so order is decided by the test, not by timing.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  BadArgumentError,
  Down,
  Exit,
  GenServer,
  MaxChildrenError,
  Runtime,
  Task,
  TaskExitError,
  TaskReply,
  TaskSupervisor,
  TaskTimeoutError,
  type ExitReason,
  type Pid,
  type ProcessContext,
  type StreamItem,
} from '../src/index.js';
import { asProcess } from '../src/runtime.js';

const silent = () => new Runtime({ logger: pino({ level: 'silent' }) });

const down = (rt: Runtime, pid: Pid): Promise<ExitReason> => {
  const process = asProcess(pid);
  return process.alive ? new Promise((resolve) => rt.watch(process, (reason) => resolve(reason))) : Promise.resolve(process.exitReason);
};

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Runs `body` as the init of a new process (its `self`), resolving with what body resolves to. */
function inProcess<R>(rt: Runtime, body: (self: ProcessContext) => Promise<R>, options: { trapExit?: boolean } = {}): { pid: Pid; result: Promise<R> } {
  const done = deferred<R>();
  const pid = rt.spawn({ init: async (self: ProcessContext) => done.resolve(await body(self)), receive() {} }, options);
  return { pid, result: done.promise };
}

/** Counts live task processes through spawn/exit telemetry, and the most alive at once. */
function liveTasks(rt: Runtime): { live: () => number; max: () => number; started: () => number } {
  let live = 0;
  let max = 0;
  let started = 0;
  rt.telemetry.on('spawn', (e) => {
    if (e.label !== 'Task') return;
    started++;
    max = Math.max(max, ++live);
  });
  rt.telemetry.on('exit', (e) => {
    if (e.label === 'Task') live--;
  });
  return { live: () => live, max: () => max, started: () => started };
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

async function startTaskSup(rt: Runtime, options: Parameters<typeof TaskSupervisor.start>[1] = {}): Promise<Pid> {
  const started = await TaskSupervisor.start(rt, options);
  if (!('ok' in started)) throw new Error('task supervisor did not start');
  return started.ok;
}

describe('Task', () => {
  it('async/1 and await/2 return the value and leave no messages behind', async () => {
    const rt = silent();
    expect(await Task.await(Task.async(rt, () => 42))).toBe(42);
    const owner = inProcess(rt, async (self) => {
      const task = Task.async(self, async () => 'from task');
      expect(task.owner).toBe(self.pid);
      const value = await Task.await(task);
      return { value, mailbox: rt.processInfo(self.pid)!.mailboxLength };
    });
    expect(await owner.result).toEqual({ value: 'from task', mailbox: 0 });
  });

  it('async/1 links the task to the caller: a crash kills a caller that does not trap exits', async () => {
    const rt = silent();
    const boom = new Error('boom');
    const gate = deferred();
    const owner = inProcess(rt, async (self) => {
      Task.async(self, async () => {
        await gate.promise;
        throw boom;
      });
      await self.receive(() => false); // forever
    });
    const ownerDown = down(rt, owner.pid);
    gate.resolve();
    expect(await ownerDown).toBe(boom);
  });

  it('await/2 rejects with TaskExitError for a crashed task (trapping caller)', async () => {
    const rt = silent();
    const boom = new Error('boom');
    const owner = inProcess(
      rt,
      async (self) => {
        const task = Task.async(self, () => {
          throw boom;
        });
        const error = await Task.await(task).catch((e: unknown) => e);
        const exit = await self.receive<Exit>((m) => m instanceof Exit);
        return { error, exit };
      },
      { trapExit: true },
    );
    const { error, exit } = await owner.result;
    expect(error).toBeInstanceOf(TaskExitError);
    expect((error as TaskExitError).reason).toBe(boom);
    expect(exit.reason).toBe(boom);
    expect(rt.isAlive(owner.pid)).toBe(true);
  });

  it('await/2 exits on timeout and kills the task, not the caller', async () => {
    const rt = silent();
    const owner = inProcess(rt, async (self) => {
      const task = Task.async(self, () => new Promise<never>(() => {}));
      const taskDown = down(rt, task.pid);
      const error = await Task.await(task, 20).catch((e: unknown) => e);
      return { error, reason: await taskDown };
    });
    const { error, reason } = await owner.result;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error).toMatchObject({ code: 'DSPEX_TASK_TIMEOUT', timeoutMs: 20 });
    expect(reason).toBe('killed');
    expect(rt.isAlive(owner.pid)).toBe(true);
  });

  it('yield/2 returns null while running, then the result', async () => {
    const rt = silent();
    const gate = deferred<number>();
    const task = Task.async(rt, () => gate.promise);
    expect(await Task.yield(task, 0)).toBeNull();
    expect(rt.isAlive(task.pid)).toBe(true);
    gate.resolve(7);
    expect(await Task.yield(task)).toEqual({ ok: 7 });
  });

  it('shutdown/2 stops a running task and reports a finished one', async () => {
    const rt = silent();
    const running = Task.async(rt, () => new Promise<never>(() => {}));
    const reason = down(rt, running.pid);
    expect(await Task.shutdown(running)).toBeNull();
    expect(await reason).toBe('shutdown');

    const finished = Task.async(rt, () => 'done');
    await down(rt, finished.pid);
    expect(await Task.shutdown(finished)).toEqual({ ok: 'done' });

    const boom = new Error('boom');
    const crashed = Task.async(rt, () => {
      throw boom;
    });
    await down(rt, crashed.pid);
    expect(await Task.shutdown(crashed, 'brutal_kill')).toEqual({ exit: boom });
  });
});

describe('TaskSupervisor', () => {
  it('async_nolink: a crash is an exit result and the caller lives', async () => {
    const rt = silent();
    const sup = await startTaskSup(rt);
    const boom = new Error('boom');
    const owner = inProcess(rt, async (self) => {
      const task = await TaskSupervisor.asyncNolink(self, sup, () => {
        throw boom;
      });
      return Task.yield(task);
    });
    expect(await owner.result).toEqual({ exit: boom });
    expect(rt.isAlive(owner.pid)).toBe(true);
    expect(rt.isAlive(sup)).toBe(true);
    expect(await TaskSupervisor.children(rt, sup)).toEqual([]);
  });

  it('async_nolink replies to a GenServer owner with TaskReply and DOWN (handle_info)', async () => {
    const rt = silent();
    const sup = await startTaskSup(rt);
    const got = deferred<unknown[]>();
    const seen: unknown[] = [];
    const started = await GenServer.start(rt, {
      init: () => ({ ok: null as Pid | null }),
      async handleCall(_req: 'run', _from: unknown, _state: Pid | null, self: ProcessContext) {
        const task = await TaskSupervisor.asyncNolink(self, sup, () => 'result');
        return { reply: task.pid, state: task.pid };
      },
      handleInfo(message: unknown, state: Pid | null) {
        seen.push(message instanceof TaskReply ? { reply: message.value } : message instanceof Down ? { down: message.reason } : message);
        if (message instanceof Down) got.resolve(seen);
        return { noreply: true as const, state };
      },
    }, undefined);
    await GenServer.call(rt, (started as { ok: Pid }).ok, 'run');
    expect(await got.promise).toEqual([{ reply: 'result' }, { down: 'normal' }]);
  });

  it('async_nolink rejects with MaxChildrenError when the supervisor is full', async () => {
    const rt = silent();
    const sup = await startTaskSup(rt, { maxChildren: 1 });
    const gate = deferred();
    const first = await TaskSupervisor.asyncNolink(rt, sup, () => gate.promise);
    await expect(TaskSupervisor.asyncNolink(rt, sup, () => 1)).rejects.toBeInstanceOf(MaxChildrenError);
    gate.resolve();
    expect(await Task.await(first)).toBeUndefined();
  });

  it('stops its running tasks when it stops', async () => {
    const rt = silent();
    const sup = await startTaskSup(rt);
    const task = await TaskSupervisor.asyncNolink(rt, sup, () => new Promise<never>(() => {}));
    expect(await TaskSupervisor.children(rt, sup)).toEqual([task.pid]);
    await rt.shutdown();
    expect(await Task.yield(task)).toEqual({ exit: 'shutdown' });
  });
});

describe('Task.asyncStream', () => {
  /** A stream fn whose item `i` starts (started[i]), waits for the test to open gates[i], then finishes (finished[i]). */
  function gated(count: number) {
    const make = () => Array.from({ length: count }, () => deferred());
    const [started, gates, finished] = [make(), make(), make()];
    const fn = async (i: number): Promise<string> => {
      started[i]!.resolve();
      await gates[i]!.promise;
      finished[i]!.resolve();
      return `r${i}`;
    };
    return { started, gates, finished, fn };
  }

  it('ordered: yields results in input order whatever order they finish in', async () => {
    const rt = silent();
    const { started, gates, finished, fn } = gated(3);
    const stream = Task.asyncStream(rt, [0, 1, 2], fn, { maxConcurrency: 3 })[Symbol.asyncIterator]();
    const first = stream.next();
    await Promise.all(started.map((d) => d.promise));
    for (const i of [2, 1, 0]) {
      gates[i]!.resolve();
      await finished[i]!.promise;
    }
    expect(await first).toEqual({ done: false, value: { ok: 'r0' } });
    expect(await collect({ [Symbol.asyncIterator]: () => stream })).toEqual([{ ok: 'r1' }, { ok: 'r2' }]);
  });

  it('unordered: yields results as they finish', async () => {
    const rt = silent();
    const { gates, fn } = gated(3);
    const stream = Task.asyncStream(rt, [0, 1, 2], fn, { maxConcurrency: 3, ordered: false })[Symbol.asyncIterator]();
    const order: unknown[] = [];
    for (const i of [2, 0, 1]) {
      const next = stream.next();
      gates[i]!.resolve();
      order.push((await next).value);
    }
    expect(order).toEqual([{ ok: 'r2' }, { ok: 'r0' }, { ok: 'r1' }]);
    expect((await stream.next()).done).toBe(true);
  });

  it('never has more than maxConcurrency tasks alive, nor runs ahead of a slow consumer', async () => {
    const rt = silent();
    const tasks = liveTasks(rt);
    const inputs = Array.from({ length: 30 }, (_, i) => i);
    let aheadMax = 0;
    let consumed = 0;
    for await (const item of Task.asyncStream(rt, inputs, async (n: number) => {
      await new Promise((r) => setImmediate(r)); // some asynchronous work
      return n * 2;
    }, { maxConcurrency: 4, ordered: false })) {
      consumed++;
      expect('ok' in item).toBe(true);
      aheadMax = Math.max(aheadMax, tasks.started() - consumed);
      await new Promise((r) => setImmediate(r)); // a consumer slower than the tasks
    }
    expect(consumed).toBe(30);
    expect(tasks.max()).toBeLessThanOrEqual(4);
    expect(tasks.max()).toBeGreaterThan(1); // it did run tasks side by side
    expect(aheadMax).toBeLessThan(4);
    expect(tasks.live()).toBe(0);
  });

  it('pulls inputs lazily and kills its tasks when the consumer stops early', async () => {
    const rt = silent();
    const tasks = liveTasks(rt);
    let pulled = 0;
    let closed = false;
    async function* inputs(): AsyncGenerator<number> {
      try {
        for (let i = 0; ; i++) {
          pulled++;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    const blocked = new Promise<never>(() => {});
    for await (const item of Task.asyncStream(rt, inputs(), (n: number) => (n === 0 ? 'first' : blocked), { maxConcurrency: 2 })) {
      expect(item).toEqual({ ok: 'first' });
      break;
    }
    expect(pulled).toBe(2);
    expect(closed).toBe(true);
    expect(tasks.live()).toBe(0);
  });

  it("per-item timeout with onTimeout 'kill_task' yields { exit: 'timeout' }", async () => {
    const rt = silent();
    const tasks = liveTasks(rt);
    const never = new Promise<never>(() => {});
    const items = await collect(Task.asyncStream(rt, ['fast', 'slow'], (s: string) => (s === 'fast' ? s : never), { timeout: 20, onTimeout: 'kill_task' }));
    expect(items).toEqual([{ ok: 'fast' }, { exit: 'timeout' }]);
    const zipped = await collect(Task.asyncStream(rt, ['slow'], () => never, { timeout: 20, onTimeout: 'kill_task', zipInputOnExit: true }));
    expect(zipped).toEqual([{ exit: { input: 'slow', reason: 'timeout' } }]);
    expect(tasks.live()).toBe(0);
  });

  it("per-item timeout with onTimeout 'exit' fails the stream with TaskTimeoutError", async () => {
    const rt = silent();
    const tasks = liveTasks(rt);
    const never = new Promise<never>(() => {});
    const seen: StreamItem<string>[] = [];
    const failed = (async () => {
      for await (const item of Task.asyncStream(rt, ['fast', 'slow', 'slower'], (s: string) => (s === 'fast' ? s : never), { timeout: 20 })) seen.push(item);
    })();
    await expect(failed).rejects.toBeInstanceOf(TaskTimeoutError);
    expect(seen).toEqual([{ ok: 'fast' }]);
    expect(tasks.live()).toBe(0);
  });

  it('linked to the caller: a crash takes down a caller that does not trap exits', async () => {
    const rt = silent();
    const boom = new Error('boom');
    const owner = inProcess(rt, async (self) => collect(Task.asyncStream(self, [1, 2], (n: number) => {
      if (n === 2) throw boom;
      return n;
    })));
    expect(await down(rt, owner.pid)).toBe(boom);
  });

  it('under a TaskSupervisor a crash is an { exit } item and the caller lives', async () => {
    const rt = silent();
    const sup = await startTaskSup(rt);
    const boom = new Error('boom');
    const owner = inProcess(rt, async (self) =>
      collect(TaskSupervisor.asyncStreamNolink(self, sup, (async function* () {
        yield* [1, 2, 3];
      })(), async (n: number) => {
        if (n === 2) throw boom;
        return n * 10;
      }, { zipInputOnExit: true })),
    );
    expect(await owner.result).toEqual([{ ok: 10 }, { exit: { input: 2, reason: boom } }, { ok: 30 }]);
    expect(rt.isAlive(owner.pid)).toBe(true);
    expect(await TaskSupervisor.children(rt, sup)).toEqual([]);
  });

  it('rejects bad options', async () => {
    const rt = silent();
    await expect(collect(Task.asyncStream(rt, [1], (n: number) => n, { maxConcurrency: 0 }))).rejects.toBeInstanceOf(BadArgumentError);
    await expect(collect(Task.asyncStream(rt, [1], (n: number) => n, { onTimeout: 'ignore' as never }))).rejects.toBeInstanceOf(BadArgumentError);
    await expect(collect(Task.asyncStream(rt, 5 as never, (n: number) => n))).rejects.toBeInstanceOf(BadArgumentError);
  });
});
