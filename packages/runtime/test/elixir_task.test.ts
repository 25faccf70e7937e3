// Ports of Elixir's task_test.exs (await/2, yield/2, shutdown/2, async_stream/2), case by case under the
// upstream names. A "dummy task" there is a task already dead with a given reason; here it is a task that
// exits with that reason and is awaited down before the case runs.
import { describe, expect, it } from 'vitest';
import { BadArgumentError, Exit, Task, TaskExitError, TaskReply, TaskTimeoutError, type ExitReason, type Pid, type StreamItem } from '../src/index.js';
import { asProcess, type Runtime } from '../src/runtime.js';
import { silentRuntime, testProcess, type TestProcess } from './helpers.js';

const downOf = (rt: Runtime, pid: Pid): Promise<ExitReason> => {
  const process = asProcess(pid);
  return process.alive ? new Promise((resolve) => rt.watch(process, (reason) => resolve(reason))) : Promise.resolve(process.exitReason);
};

/** A task started by `owner` that exits with `reason` without a value, once it is dead. */
async function dummyTask(rt: Runtime, owner: TestProcess, reason: ExitReason): Promise<Task<unknown>> {
  const task = Task.async(owner.self, (self) => self.exit(reason));
  await downOf(rt, task.pid);
  return task;
}

/** A task that never finishes on its own; `trap` makes it trap exits. Resolves once it runs. */
async function sleepingTask(owner: TestProcess, trap = false): Promise<Task<unknown>> {
  let running!: () => void;
  const started = new Promise<void>((resolve) => (running = resolve));
  const task = Task.async(owner.self, (self) => {
    self.trapExit = trap;
    running();
    return new Promise<never>(() => {});
  });
  await started;
  return task;
}

async function setup(trapExit = true): Promise<{ rt: Runtime; me: TestProcess }> {
  const rt = silentRuntime();
  return { rt, me: await testProcess(rt, { trapExit }) };
}

async function noTaskMessagesLeft(me: TestProcess): Promise<void> {
  await me.sync();
  expect(me.held().filter((m) => m instanceof TaskReply || (typeof m === 'object' && m !== null && 'kind' in m && m.kind === 'DOWN'))).toEqual([]);
}

describe('task_test.exs await/2', () => {
  it('exits on timeout', async () => {
    const { rt, me } = await setup();
    const task = await sleepingTask(me);
    await expect(Task.await(task, 0)).rejects.toBeInstanceOf(TaskTimeoutError);
    expect(await downOf(rt, task.pid)).toBe('killed');
    expect(rt.isAlive(me.pid)).toBe(true);
  });

  it('exits on normal exit', async () => {
    const { rt, me } = await setup();
    const task = await dummyTask(rt, me, 'normal');
    const error = await Task.await(task).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskExitError);
    expect((error as TaskExitError).reason).toBe('normal');
  });

  it('exits on task error', async () => {
    const { me } = await setup();
    const boom = new Error('oops');
    const task = Task.async(me.self, () => {
      throw boom;
    });
    const error = await Task.await(task).catch((e: unknown) => e);
    expect((error as TaskExitError).reason).toBe(boom);
    expect(await me.exitOf(task.pid)).toBe(boom);
  });

  it('exits on task exit', async () => {
    const { rt, me } = await setup();
    const task = await dummyTask(rt, me, 'unknown');
    await expect(Task.await(task)).rejects.toMatchObject({ code: 'DSPEX_TASK_EXIT', reason: 'unknown' });
  });
});

describe('task_test.exs yield/2', () => {
  it('returns {:ok, result} when reply and :DOWN in message queue', async () => {
    const { rt, me } = await setup();
    const task = Task.async(me.self, () => 'result');
    await downOf(rt, task.pid);
    expect(await Task.yield(task, 0)).toEqual({ ok: 'result' });
    await noTaskMessagesLeft(me);
  });

  it('returns nil on timeout', async () => {
    const { me } = await setup();
    const task = await sleepingTask(me);
    expect(await Task.yield(task, 0)).toBeNull();
    expect(me.self.runtime.isAlive(task.pid)).toBe(true);
  });

  it('return exit on normal exit', async () => {
    const { rt, me } = await setup();
    const task = await dummyTask(rt, me, 'normal');
    expect(await Task.yield(task)).toEqual({ exit: 'normal' });
  });
});

describe('task_test.exs shutdown/2', () => {
  it('returns {:ok, result} when reply and normal :DOWN in message queue', async () => {
    const { rt, me } = await setup();
    const task = Task.async(me.self, () => 'result');
    await downOf(rt, task.pid);
    expect(await Task.shutdown(task)).toEqual({ ok: 'result' });
    await noTaskMessagesLeft(me);
  });

  it('returns nil on shutting down task', async () => {
    const { me } = await setup();
    expect(await Task.shutdown(await sleepingTask(me))).toBeNull();
  });

  for (const [reason, expected] of [
    ['abnormal', { exit: 'abnormal' }],
    ['normal', { exit: 'normal' }],
    ['shutdown', null],
    ['killed', { exit: 'killed' }],
  ] as const) {
    it(`returns ${expected === null ? 'nil' : 'exit'} on ${reason} :DOWN in message queue`, async () => {
      const { rt, me } = await setup();
      const task = await dummyTask(rt, me, reason);
      expect(await Task.shutdown(task)).toEqual(expected);
      await noTaskMessagesLeft(me);
    });
  }

  it('returns nil on killing task', async () => {
    const { me } = await setup();
    const task = await sleepingTask(me, true);
    expect(await Task.shutdown(task, 'brutal_kill')).toBeNull();
    await noTaskMessagesLeft(me);
  });
});

describe('task_test.exs shutdown/2 with :brutal_kill', () => {
  for (const [reason, expected] of [
    ['killed', null],
    ['abnormal', { exit: 'abnormal' }],
    ['normal', { exit: 'normal' }],
    ['shutdown', { exit: 'shutdown' }],
  ] as const) {
    it(`returns ${expected === null ? 'nil' : 'exit'} on ${reason} :DOWN in message queue`, async () => {
      const { rt, me } = await setup();
      const task = await dummyTask(rt, me, reason);
      expect(await Task.shutdown(task, 'brutal_kill')).toEqual(expected);
    });
  }

  it('returns exit on killing task after shutdown timeout', async () => {
    const { rt, me } = await setup();
    const task = await sleepingTask(me, true);
    expect(await Task.shutdown(task, 1)).toEqual({ exit: 'killed' });
    expect(rt.isAlive(me.pid)).toBe(true);
  });
});

async function collect<T>(stream: AsyncIterable<StreamItem<T>>): Promise<Array<StreamItem<T>>> {
  const items: Array<StreamItem<T>> = [];
  for await (const item of stream) items.push(item);
  return items;
}

describe('task_test.exs async_stream/2', () => {
  it('does not allow streaming with max_concurrency = 0', async () => {
    const { me } = await setup();
    await expect(collect(Task.asyncStream(me.self, [1], (x) => x, { maxConcurrency: 0 }))).rejects.toBeInstanceOf(BadArgumentError);
  });

  it('does not allow streaming with invalid :on_timeout', async () => {
    const { me } = await setup();
    await expect(collect(Task.asyncStream(me.self, [1], (x) => x, { onTimeout: 'bad' as 'exit' }))).rejects.toBeInstanceOf(BadArgumentError);
  });

  it('does not allow streaming with invalid :timeout', async () => {
    const { me } = await setup();
    await expect(collect(Task.asyncStream(me.self, [1], (x) => x, { timeout: -1 }))).rejects.toBeInstanceOf(BadArgumentError);
  });

  it('streams an enumerable with infinite timeout', async () => {
    const { me } = await setup();
    expect(await collect(Task.asyncStream(me.self, [1, 2, 3], (x) => x * 2, { timeout: Infinity }))).toEqual([{ ok: 2 }, { ok: 4 }, { ok: 6 }]);
  });

  it('streams an enumerable without leaking tasks', async () => {
    const { rt, me } = await setup();
    const before = rt.processCount;
    await collect(Task.asyncStream(me.self, [1, 2, 3, 4], (x) => x, { maxConcurrency: 2 }));
    expect(rt.processCount).toBe(before);
  });

  it('streams an enumerable with slowest first', async () => {
    const { me } = await setup();
    let releaseFirst!: () => void;
    const first = new Promise<void>((resolve) => (releaseFirst = resolve));
    const stream = Task.asyncStream(me.self, [1, 2, 3], async (x) => {
      if (x === 1) await first;
      else if (x === 3) releaseFirst();
      return x;
    }, { maxConcurrency: 3 });
    expect(await collect(stream)).toEqual([{ ok: 1 }, { ok: 2 }, { ok: 3 }]);
  });

  it('streams an enumerable with ordered: false, on_timeout: :kill_task', async () => {
    const { me } = await setup();
    const stream = Task.asyncStream(me.self, [1, 2], (x) => (x === 1 ? new Promise<number>(() => {}) : x), { ordered: false, timeout: 20, onTimeout: 'kill_task' });
    expect(await collect(stream)).toEqual([{ ok: 2 }, { exit: 'timeout' }]);
  });

  it('a crashing task is an { exit } item and no EXIT reaches a caller that traps exits', async () => {
    const { rt, me } = await setup(true);
    const boom = new Error('boom');
    const items = await collect(Task.asyncStream(me.self, [1, 2, 3], (x) => {
      if (x === 2) throw boom;
      return x;
    }));
    expect(items).toEqual([{ ok: 1 }, { exit: boom }, { ok: 3 }]);
    await me.sync();
    expect(me.held().filter((m) => m instanceof Exit)).toEqual([]);
    expect(rt.isAlive(me.pid)).toBe(true);
  });

  it('a crashing task takes down a caller that does not trap exits, with its reason', async () => {
    const { rt, me } = await setup(false);
    const dead = downOf(rt, me.pid);
    const stream = Task.asyncStream(me.self, [1], () => {
      throw 'boom';
    });
    void collect(stream).catch(() => {});
    expect(await dead).toBe('boom');
  });
});
