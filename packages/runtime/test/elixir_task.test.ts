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

/** A task held until `release()`; then it returns `value`, or exits with `exit` when given. */
function heldTask<T>(me: TestProcess, value: T, exit?: ExitReason): { task: Task<T>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const task = Task.async(me.self, async (self) => {
    await gate;
    if (exit !== undefined) self.exit(exit);
    return value;
  });
  return { task, release };
}

describe('task_test.exs ignore/1', () => {
  it('discards on time replies', async () => {
    const { rt, me } = await setup();
    const task = Task.async(me.self, () => 'ok');
    await downOf(rt, task.pid);
    expect(Task.ignore(task)).toEqual({ ok: 'ok' });
    await expect(Task.await(task, 0)).rejects.toBeInstanceOf(TaskTimeoutError);
  });

  it('discards late replies', async () => {
    const { rt, me } = await setup();
    const { task, release } = heldTask(me, 'ok');
    expect(Task.ignore(task)).toBeNull();
    release();
    await downOf(rt, task.pid);
    await expect(Task.await(task, 0)).rejects.toBeInstanceOf(TaskTimeoutError);
    await noTaskMessagesLeft(me);
  });

  it('discards on-time failures', async () => {
    const { rt, me } = await setup();
    const task = await dummyTask(rt, me, 'oops');
    expect(Task.ignore(task)).toEqual({ exit: 'oops' });
    await expect(Task.await(task, 0)).rejects.toBeInstanceOf(TaskTimeoutError);
  });

  it('discards late failures', async () => {
    const { rt, me } = await setup(false);
    const { task, release } = heldTask(me, 'ok', 'oops');
    expect(Task.ignore(task)).toBeNull();
    release();
    expect(await downOf(rt, task.pid)).toBe('oops');
    // Unlinked by ignore: the failure does not take the (non-trapping) caller down.
    expect(rt.isAlive(me.pid)).toBe(true);
    await expect(Task.await(task, 0)).rejects.toBeInstanceOf(TaskTimeoutError);
  });
});

describe('task_test.exs await_many/2', () => {
  it('returns list of replies', async () => {
    const { me } = await setup();
    const tasks = [1, 3, 9].map((value) => Task.async(me.self, () => value));
    expect(await Task.awaitMany(tasks)).toEqual([1, 3, 9]);
    await noTaskMessagesLeft(me);
  });

  it('returns replies in input order ignoring response order', async () => {
    const { me } = await setup();
    const held = [1, 3, 9].map((value) => heldTask(me, value));
    const result = Task.awaitMany(held.map((h) => h.task));
    held[1]!.release();
    held[2]!.release();
    held[0]!.release();
    expect(await result).toEqual([1, 3, 9]);
  });

  it('returns an empty list immediately', async () => {
    expect(await Task.awaitMany([], 0)).toEqual([]);
  });

  it('ignores messages from other processes', async () => {
    const { rt, me } = await setup();
    const tasks = ['a', 'b'].map((value) => Task.async(me.self, () => value));
    rt.send(me.pid, 'other');
    expect(await Task.awaitMany(tasks)).toEqual(['a', 'b']);
    await me.sync();
    expect(me.held()).toContain('other');
  });

  it('exits on timeout', async () => {
    const { rt, me } = await setup();
    const task = await sleepingTask(me);
    await expect(Task.awaitMany([task], 0)).rejects.toBeInstanceOf(TaskTimeoutError);
    expect(await downOf(rt, task.pid)).toBe('killed');
  });

  it('exits with same reason when task exits', async () => {
    const { me } = await setup();
    const task = Task.async(me.self, (self) => self.exit('normal'));
    await expect(Task.awaitMany([task])).rejects.toMatchObject({ code: 'DSPEX_TASK_EXIT', reason: 'normal' });
  });

  it('exits immediately when any task exits', async () => {
    const { me } = await setup();
    const sleeping = await sleepingTask(me);
    const exiting = Task.async(me.self, (self) => self.exit('normal'));
    await expect(Task.awaitMany([sleeping, exiting], Infinity)).rejects.toMatchObject({ reason: 'normal' });
  });

  it('exits immediately when any task crashes', async () => {
    const { rt, me } = await setup();
    const sleeping = await sleepingTask(me);
    const crashing = Task.async(me.self, (self) => self.exit('unknown'));
    await expect(Task.awaitMany([sleeping, crashing], Infinity)).rejects.toMatchObject({ reason: 'unknown' });
    // Every monitor is gone afterwards: killing the tasks sends the caller no DOWN.
    rt.exit(sleeping.pid, 'kill');
    await downOf(rt, sleeping.pid);
    await noTaskMessagesLeft(me);
  });

  it('exits immediately on any task error', async () => {
    const { me } = await setup();
    const sleeping = await sleepingTask(me);
    const oops = new Error('oops');
    const crashing = Task.async(me.self, () => {
      throw oops;
    });
    await expect(Task.awaitMany([sleeping, crashing], Infinity)).rejects.toMatchObject({ reason: oops });
  });
});

describe('task_test.exs yield_many/2', () => {
  it('returns {:ok, result} when reply and :DOWN in message queue', async () => {
    const { rt, me } = await setup();
    const task = Task.async(me.self, () => 'result');
    await downOf(rt, task.pid);
    expect(await Task.yieldMany([task], { timeout: 0 })).toEqual([[task, { ok: 'result' }]]);
    await noTaskMessagesLeft(me);
  });

  it('returns nil on timeout by default', async () => {
    const { rt, me } = await setup();
    const task = await sleepingTask(me);
    expect(await Task.yieldMany([task], { timeout: 0 })).toEqual([[task, null]]);
    expect(rt.isAlive(task.pid)).toBe(true);
  });

  it('shuts down on timeout when configured', async () => {
    const { rt, me } = await setup();
    const task = await sleepingTask(me);
    expect(await Task.yieldMany([task], { timeout: 0, onTimeout: 'kill_task' })).toEqual([[task, null]]);
    expect(rt.isAlive(task.pid)).toBe(false);
  });

  it('ignores on timeout when configured', async () => {
    const { rt, me } = await setup();
    const { task, release } = heldTask(me, 'ok');
    expect(await Task.yieldMany([task], { timeout: 0, onTimeout: 'ignore' })).toEqual([[task, null]]);
    expect(rt.isAlive(task.pid)).toBe(true);
    release();
    await downOf(rt, task.pid);
    expect(await Task.yield(task, 0)).toBeNull();
  });

  it('return exit on normal exit', async () => {
    const { me } = await setup();
    const task = Task.async(me.self, (self) => self.exit('normal'));
    expect(await Task.yieldMany([task])).toEqual([[task, { exit: 'normal' }]]);
  });

  it('returns results from multiple tasks', async () => {
    const { rt, me } = await setup();
    const task1 = Task.async(me.self, () => 'result');
    const task2 = await sleepingTask(me);
    const task3 = await dummyTask(rt, me, 'normal');
    await downOf(rt, task1.pid);
    expect(await Task.yieldMany([task1, task2, task3], { timeout: 0 })).toEqual([[task1, { ok: 'result' }], [task2, null], [task3, { exit: 'normal' }]]);
  });

  it('returns results from multiple tasks with limit', async () => {
    const { me } = await setup();
    const first = heldTask(me, 'result');
    const second = heldTask(me, 'never');
    const third = heldTask(me, 'x', 'normal');
    const answer = Task.yieldMany([first.task, second.task, third.task], { limit: 1, timeout: Infinity });
    first.release();
    expect(await answer).toEqual([[first.task, { ok: 'result' }], [second.task, null], [third.task, null]]);
    const next = Task.yieldMany([second.task, third.task], { limit: 1, timeout: Infinity });
    third.release();
    expect(await next).toEqual([[second.task, null], [third.task, { exit: 'normal' }]]);
  });

  it('returns once all tasks have replied below limit', async () => {
    const { me } = await setup();
    const task = Task.async(me.self, () => 'done');
    expect(await Task.yieldMany([task], { limit: 2, timeout: Infinity })).toEqual([[task, { ok: 'done' }]]);
  });

  it('returns results from multiple tasks with limit and on timeout', async () => {
    const { rt, me } = await setup();
    const task1 = await sleepingTask(me);
    const task2 = Task.async(me.self, () => 'done');
    expect(await Task.yieldMany([task1, task2], { timeout: Infinity, onTimeout: 'kill_task', limit: 1 })).toEqual([[task1, null], [task2, { ok: 'done' }]]);
    expect(rt.isAlive(task1.pid)).toBe(true);
    expect(await Task.yieldMany([task1], { timeout: 0, onTimeout: 'kill_task', limit: 1 })).toEqual([[task1, null]]);
    expect(rt.isAlive(task1.pid)).toBe(false);
  });

  it('returns results on infinity timeout', async () => {
    const { rt, me } = await setup();
    const task1 = Task.async(me.self, () => 'result');
    const task2 = Task.async(me.self, () => 'result');
    const task3 = await dummyTask(rt, me, 'normal');
    expect(await Task.yieldMany([task1, task2, task3], { timeout: Infinity })).toEqual([[task1, { ok: 'result' }], [task2, { ok: 'result' }], [task3, { exit: 'normal' }]]);
  });
});
