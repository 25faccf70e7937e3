// More ports of Elixir's dynamic_supervisor_test.exs (terminate/2, terminate_child/2, start_link/3 options)
// under the upstream names, and the flag checks DynamicSupervisor shares with Supervisor (supervision.ts).
import { describe, expect, it } from 'vitest';
import { BadArgumentError, DynamicSupervisor, InvalidChildSpecError, Supervisor, type ChildSpec, type Pid, type ProcessContext, type StartResult } from '../src/index.js';
import { asProcess, type Runtime } from '../src/runtime.js';
import { createTestRuntime } from '../src/testing/index.js';
import { okPid, testProcess } from './helpers.js';

const downOf = (rt: Runtime, pid: Pid): Promise<unknown> => {
  const process = asProcess(pid);
  return process.alive ? new Promise((resolve) => rt.watch(process, (reason) => resolve(reason))) : Promise.resolve(process.exitReason);
};

const sleepy = (parent: ProcessContext): StartResult => ({ ok: parent.runtime.spawn(() => undefined, { link: parent.pid, label: 'sleepy' }) });

/** A child that traps exits and, on any message (the shutdown EXIT included), exits with { shutdown: 'oops' }. */
const oops = (parent: ProcessContext): StartResult => ({
  ok: parent.runtime.spawn((_message: unknown, self) => self.exit({ shutdown: 'oops' }), { link: parent.pid, trapExit: true, label: 'oops' }),
});

async function threeChildren(rt: Runtime, spec: ChildSpec): Promise<{ sup: Pid; children: Pid[] }> {
  const sup = okPid(await DynamicSupervisor.start(rt));
  const children: Pid[] = [];
  for (let i = 0; i < 3; i++) children.push(okPid(await DynamicSupervisor.startChild(rt, sup, spec)));
  return { sup, children };
}

describe('dynamic_supervisor_test.exs terminate/2', () => {
  for (const [name, spec, expected] of [
    ['terminates children with brutal kill', { id: 's', start: sleepy, shutdown: 'brutal_kill' }, 'killed'],
    ['terminates children with infinity shutdown', { id: 's', start: sleepy, shutdown: 'infinity' }, 'shutdown'],
    ['terminates children with integer shutdown', { id: 's', start: sleepy, shutdown: 1000 }, 'shutdown'],
    ['terminates children with infinity shutdown and abnormal reason', { id: 'o', start: oops, shutdown: 'infinity' }, { shutdown: 'oops' }],
    ['terminates children with integer shutdown and abnormal reason', { id: 'o', start: oops, shutdown: 1000 }, { shutdown: 'oops' }],
  ] as Array<[string, ChildSpec, unknown]>) {
    it(name, async () => {
      const rt = createTestRuntime();
      const { sup, children } = await threeChildren(rt, spec);
      const downs = children.map((child) => downOf(rt, child));
      await DynamicSupervisor.stop(rt, sup, 'shutdown');
      for (const reason of await Promise.all(downs)) expect(reason).toEqual(expected);
      // { shutdown: detail } is a clean stop for a dynamic child (Elixir's wait_child): no shutdown_error.
      expect(rt.supervisorReports.filter((r) => r.context === 'shutdown_error')).toEqual([]);
    });
  }

  it('terminates children with permanent restart and normal reason', async () => {
    const rt = createTestRuntime();
    const normal = (parent: ProcessContext): StartResult => ({
      ok: parent.runtime.spawn((_m: unknown, self) => self.exit('normal'), { link: parent.pid, trapExit: true }),
    });
    const { sup, children } = await threeChildren(rt, { id: 'n', start: normal, restart: 'permanent', shutdown: 1000 });
    const downs = children.map((child) => downOf(rt, child));
    await DynamicSupervisor.stop(rt, sup, 'shutdown');
    expect(await Promise.all(downs)).toEqual(['normal', 'normal', 'normal']);
    // normal is clean only for a non-permanent child: three shutdown errors.
    expect(rt.supervisorReports.filter((r) => r.context === 'shutdown_error')).toHaveLength(3);
  });
});

describe('dynamic_supervisor_test.exs terminate_child/2', () => {
  it('terminates child with brutal kill', async () => {
    const rt = createTestRuntime();
    const sup = okPid(await DynamicSupervisor.start(rt));
    const child = okPid(await DynamicSupervisor.startChild(rt, sup, { id: 's', start: sleepy, shutdown: 'brutal_kill' }));
    const down = downOf(rt, child);
    expect(await DynamicSupervisor.terminateChild(rt, sup, child)).toEqual({ ok: true });
    expect(await down).toBe('killed');
    expect(await DynamicSupervisor.whichChildren(rt, sup)).toEqual([]);
    expect(await DynamicSupervisor.terminateChild(rt, sup, child)).toEqual({ error: 'not_found' });
  });
});

describe("restart period: OTP's invalid_period", () => {
  it('a supervisor refuses period Infinity, zero or negative', async () => {
    const rt = createTestRuntime();
    for (const period of [Infinity, 0, -1, Number.NaN]) {
      await expect(Supervisor.start(rt, { period, children: [] })).rejects.toThrow(/invalid_period/);
    }
  });

  it('a dynamic supervisor refuses maxSeconds Infinity', async () => {
    const rt = createTestRuntime();
    await expect(DynamicSupervisor.start(rt, { maxSeconds: Infinity })).rejects.toBeInstanceOf(BadArgumentError);
  });
});

describe('dynamic_supervisor_test.exs start_link/3 and start_child/2', () => {
  it('start_link/3 with registered process', async () => {
    const rt = createTestRuntime();
    const me = await testProcess(rt);
    const pid = okPid(await DynamicSupervisor.startLink(me.self, { name: 'DynamicSupervisorTest' }));
    expect(rt.processInfo(me.pid)?.links).toContain(pid);
    expect(rt.whereis('DynamicSupervisorTest')).toBe(pid);
    await expect(DynamicSupervisor.stop(rt, 'DynamicSupervisorTest')).resolves.toBeUndefined();
  });

  it('restarting on exit children counted in max_children', async () => {
    const rt = createTestRuntime();
    const sup = okPid(await DynamicSupervisor.start(rt, { maxChildren: 1, maxRestarts: 100_000 }));
    const child = okPid(await DynamicSupervisor.startChild(rt, sup, { id: 's', start: sleepy, restart: 'permanent' }));
    const down = downOf(rt, child);
    rt.exit(child, 'shutdown');
    await down;
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ workers: 1, active: 1 });
    expect(await DynamicSupervisor.startChild(rt, sup, { id: 's', start: sleepy, restart: 'permanent' })).toEqual({ error: 'max_children' });
  });

  it('with valid shutdown', async () => {
    const rt = createTestRuntime();
    const sup = okPid(await DynamicSupervisor.start(rt));
    for (const shutdown of [0, 1]) {
      const child = okPid(await DynamicSupervisor.startChild(rt, sup, { id: String(shutdown), start: sleepy, shutdown }));
      const down = downOf(rt, child);
      rt.exit(child, 'shutdown');
      expect(await down).toBe('shutdown');
    }
  });

  it('with invalid valid shutdown', async () => {
    const rt = createTestRuntime();
    // Elixir answers {:error, {:invalid_shutdown, -1}}; here the spec is refused with a typed error before any call.
    await expect(DynamicSupervisor.startChild(rt, 'not_used', { id: '1', start: sleepy, shutdown: -1 })).rejects.toBeInstanceOf(InvalidChildSpecError);
  });
});
