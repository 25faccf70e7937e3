// Ports of Elixir's task/supervisor_test.exs under the upstream case names: tasks under a TaskSupervisor,
// linked or not to the caller, their shutdown options, max_children, and supervised async streams.
import { describe, expect, it } from 'vitest';
import {
  DynamicSupervisor,
  Exit,
  MaxChildrenError,
  Task,
  TaskExitError,
  TaskReply,
  TaskSupervisor,
  Down,
  type ExitReason,
  type Pid,
  type StreamItem,
  type TaskSupervisorOptions,
} from '../src/index.js';
import { asProcess, type Runtime } from '../src/runtime.js';
import { okPid, silentRuntime, testProcess, type TestProcess } from './helpers.js';

const downOf = (rt: Runtime, pid: Pid): Promise<ExitReason> => {
  const process = asProcess(pid);
  return process.alive ? new Promise((resolve) => rt.watch(process, (reason) => resolve(reason))) : Promise.resolve(process.exitReason);
};

async function setup(options: TaskSupervisorOptions = {}, trapExit = true): Promise<{ rt: Runtime; sup: Pid; me: TestProcess }> {
  const rt = silentRuntime();
  const sup = okPid(await TaskSupervisor.start(rt, options));
  return { rt, sup, me: await testProcess(rt, { trapExit }) };
}

const forever = (): Promise<never> => new Promise<never>(() => {});
const linksOf = (rt: Runtime, pid: Pid): Pid[] => rt.processInfo(pid)?.links ?? [];

async function collect<T>(stream: AsyncIterable<StreamItem<T>>, take = Infinity): Promise<Array<StreamItem<T>>> {
  const items: Array<StreamItem<T>> = [];
  for await (const item of stream) {
    items.push(item);
    if (items.length >= take) break;
  }
  return items;
}

describe('task/supervisor_test.exs', () => {
  it('counts and returns children', async () => {
    const { rt, sup } = await setup();
    expect(await TaskSupervisor.children(rt, sup)).toEqual([]);
    expect(await DynamicSupervisor.countChildren(rt, sup)).toEqual({ active: 0, specs: 0, supervisors: 0, workers: 0 });
  });

  it('async/1 spawns tasks under the supervisor', async () => {
    const { rt, sup, me } = await setup();
    let go!: () => void;
    const gate = new Promise<void>((resolve) => (go = resolve));
    const task = await TaskSupervisor.async(me.self, sup, async () => {
      await gate;
      return 'done';
    });
    expect(await TaskSupervisor.children(rt, sup)).toEqual([task.pid]);
    expect(linksOf(rt, me.pid)).toContain(task.pid);
    go();
    const reply = await me.receive<TaskReply>((m) => m instanceof TaskReply && m.ref === task.ref);
    expect(reply.value).toBe('done');
    const down = await me.receive<Down>((m) => m instanceof Down && m.ref === task.ref);
    expect(down.reason).toBe('normal');
  });

  it('async/1 with custom shutdown', async () => {
    const { rt, sup, me } = await setup();
    const task = await TaskSupervisor.async(me.self, sup, forever, { shutdown: 'brutal_kill' });
    const down = downOf(rt, task.pid);
    rt.exit(sup, 'shutdown');
    expect(await down).toBe('killed');
  });

  it('async/1 raises when :max_children is reached', async () => {
    const { rt, sup, me } = await setup({ maxChildren: 1 });
    await TaskSupervisor.async(me.self, sup, forever);
    await expect(TaskSupervisor.async(me.self, sup, () => 'ok')).rejects.toBeInstanceOf(MaxChildrenError);
    expect(await TaskSupervisor.children(rt, sup)).toHaveLength(1);
  });

  it('async_nolink/1 spawns a task under the supervisor without linking to the caller', async () => {
    const { rt, sup, me } = await setup();
    const task = await TaskSupervisor.asyncNolink(me.self, sup, () => 'done');
    expect(linksOf(rt, me.pid)).not.toContain(task.pid);
    expect((await me.receive<TaskReply>((m) => m instanceof TaskReply && m.ref === task.ref)).value).toBe('done');
    expect((await me.receive<Down>((m) => m instanceof Down && m.ref === task.ref)).reason).toBe('normal');
  });

  it('async_nolink/1 with custom shutdown', async () => {
    const { rt, sup, me } = await setup();
    const task = await TaskSupervisor.asyncNolink(me.self, sup, forever, { shutdown: 'brutal_kill' });
    const down = downOf(rt, task.pid);
    rt.exit(sup, 'shutdown');
    expect(await down).toBe('killed');
  });

  it('async_nolink/1 raises when :max_children is reached', async () => {
    const { sup, me } = await setup({ maxChildren: 1 });
    await TaskSupervisor.asyncNolink(me.self, sup, forever);
    await expect(TaskSupervisor.asyncNolink(me.self, sup, () => 'ok')).rejects.toBeInstanceOf(MaxChildrenError);
  });

  it('start_child/1', async () => {
    const { rt, sup, me } = await setup();
    let go!: () => void;
    const gate = new Promise<void>((resolve) => (go = resolve));
    const pid = await TaskSupervisor.startChild(me.self, sup, async (self) => {
      await gate;
      self.send(me.pid, 'done');
    });
    expect(await TaskSupervisor.children(rt, sup)).toEqual([pid]);
    expect(linksOf(rt, me.pid)).not.toContain(pid);
    go();
    expect(await me.receive((m) => m === 'done')).toBe('done');
  });

  it('start_child/1 with custom shutdown', async () => {
    const { rt, sup, me } = await setup();
    const pid = await TaskSupervisor.startChild(me.self, sup, forever, { shutdown: 'brutal_kill' });
    const down = downOf(rt, pid);
    rt.exit(sup, 'shutdown');
    expect(await down).toBe('killed');
  });

  it('terminate_child/2', async () => {
    const { rt, sup, me } = await setup();
    const pid = await TaskSupervisor.startChild(me.self, sup, forever);
    expect(await TaskSupervisor.children(rt, sup)).toEqual([pid]);
    expect(await TaskSupervisor.terminateChild(rt, sup, pid)).toEqual({ ok: true });
    expect(await TaskSupervisor.children(rt, sup)).toEqual([]);
    expect(await TaskSupervisor.terminateChild(rt, sup, pid)).toEqual({ error: 'not_found' });
  });

  it('await/1 exits on task error', async () => {
    const { sup, me } = await setup();
    const oops = new Error('oops');
    const task = await TaskSupervisor.async(me.self, sup, () => {
      throw oops;
    });
    await expect(Task.await(task)).rejects.toMatchObject({ reason: oops });
  });

  it('await/1 exits on task exit', async () => {
    const { sup, me } = await setup();
    const task = await TaskSupervisor.async(me.self, sup, (self) => self.exit('unknown'));
    const error = await Task.await(task).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskExitError);
    expect((error as TaskExitError).reason).toBe('unknown');
  });
});

for (const variant of ['async_stream', 'async_stream_nolink'] as const) {
  const stream = variant === 'async_stream' ? TaskSupervisor.asyncStream : TaskSupervisor.asyncStreamNolink;
  describe(`task/supervisor_test.exs ${variant}`, () => {
    it('streams an enumerable with fun', async () => {
      const { sup, me } = await setup();
      expect(await collect(stream(me.self, sup, [1, 2, 3, 4], (x: number) => x * 2, { maxConcurrency: 2 }))).toEqual([{ ok: 2 }, { ok: 4 }, { ok: 6 }, { ok: 8 }]);
    });

    it('streams an enumerable without leaking tasks', async () => {
      const { rt, sup, me } = await setup();
      await collect(stream(me.self, sup, [1, 2, 3, 4], (x: number) => x, { maxConcurrency: 2 }));
      expect(await TaskSupervisor.children(rt, sup)).toEqual([]);
      expect(linksOf(rt, me.pid)).toEqual([]);
    });

    it('streams an enumerable with slowest first', async () => {
      const { sup, me } = await setup();
      let releaseFirst!: () => void;
      const first = new Promise<void>((resolve) => (releaseFirst = resolve));
      const items = collect(stream(me.self, sup, [1, 2, 3], async (x: number) => {
        if (x === 1) await first;
        if (x === 3) releaseFirst();
        return x;
      }, { maxConcurrency: 3 }));
      expect(await items).toEqual([{ ok: 1 }, { ok: 2 }, { ok: 3 }]);
    });

    it('streams an enumerable with exits', async () => {
      const { sup, me } = await setup();
      const items = await collect(stream(me.self, sup, [1, 2, 3, 4], (x: number, self) => self.exit(String(x))));
      expect(items).toEqual([{ exit: '1' }, { exit: '2' }, { exit: '3' }, { exit: '4' }]);
      await me.sync();
      expect(me.held().filter((m) => m instanceof Exit)).toEqual([]);
    });

    it('shuts down unused tasks', async () => {
      const { rt, sup, me } = await setup();
      const items = await collect(stream(me.self, sup, [0, 1, 2, 3], (x: number) => (x === 0 ? 0 : forever()), { maxConcurrency: 4 }), 1);
      expect(items).toEqual([{ ok: 0 }]);
      expect(await TaskSupervisor.children(rt, sup)).toEqual([]);
      expect(linksOf(rt, me.pid)).toEqual([]);
    });

    it('shuts down unused tasks without leaking messages', async () => {
      const { sup, me } = await setup();
      await collect(stream(me.self, sup, [0, 1, 2, 3], (x: number) => (x === 0 ? 0 : forever()), { maxConcurrency: 4 }), 1);
      await me.sync();
      expect(me.held()).toEqual([]);
    });

    it('raises an error if :max_children is reached with clean stream shutdown', async () => {
      const { rt, me } = await setup();
      const small = okPid(await TaskSupervisor.start(rt, { maxChildren: 1 }));
      await expect(collect(stream(me.self, small, [1, 2, 3], () => forever(), { maxConcurrency: 2 }))).rejects.toBeInstanceOf(MaxChildrenError);
      expect(await TaskSupervisor.children(rt, small)).toEqual([]);
      expect(linksOf(rt, me.pid)).toEqual([]);
      await me.sync();
      expect(me.held()).toEqual([]);
    });
  });
}
