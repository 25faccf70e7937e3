// Ports of Elixir's lib/elixir/test/elixir/supervisor_test.exs, named after its cases. Elixir's module-based
// child specs ({Stack, arg}, use Supervisor) are child spec objects and init functions here; the cases on the
// old tuple spec format and on Elixir's own defaults are listed in the README's "Differences from OTP".

import { describe, expect, it } from 'vitest';
import { BadArgumentError, InvalidChildSpecError } from '../src/errors.js';
import { GenServer, type GenServerBehavior, type StartOptions } from '../src/gen_server.js';
import type { ChildSpec } from '../src/child_spec.js';
import type { Pid } from '../src/process.js';
import { Registry } from '../src/registry.js';
import type { Runtime } from '../src/runtime.js';
import { Supervisor, validateSupervisorSpec, type SupervisorInit } from '../src/supervisor.js';
import { nextEvent, okPid, silentRuntime, testProcess } from './helpers.js';

/** SupervisorTest.Stack: pop, push, and a stop call that replies ok and stops normally. */
const Stack: GenServerBehavior<string[], string[], 'pop' | 'stop', unknown, { push: string }> = {
  init: (stack) => ({ ok: stack }),
  handleCall: (request, _from, [head, ...tail]) => (request === 'pop' ? { reply: head, state: tail } : { stop: 'normal', reply: 'ok', state: [head!, ...tail] }),
  handleCast: (cast, stack) => ({ noreply: true, state: [cast.push, ...stack] }),
};

/** Stack.child_spec({state, opts}). */
const stackSpec = (stack: string[], options: StartOptions = {}): ChildSpec => ({ id: 'Stack', start: (parent) => GenServer.startLink(parent, Stack, stack, options) });

/** A child that sleeps until it is stopped (Task.start_link(fn -> Process.sleep(:infinity) end)). */
const sleeper = (id: string, spec: Partial<ChildSpec> = {}): ChildSpec => ({
  id,
  restart: 'temporary',
  start: (parent) => ({ ok: parent.runtime.spawn(() => new Promise<void>(() => {}), { link: parent.pid }) }),
  ...spec,
});

/** Resolves when `sup` has restarted a child (Elixir's wait_until_registered spins on the name instead). */
const restarted = (rt: Runtime, sup: Pid): Promise<unknown> => nextEvent(rt, 'restart', (e) => e.supervisor === sup && e.pid !== null);

describe('SupervisorTest', () => {
  it('generates child_spec/1', () => {
    const init: SupervisorInit = { strategy: 'one_for_one', children: [stackSpec(['hello'])] };
    expect(Supervisor.childSpec('Stack.Sup', init)).toEqual({ id: 'Stack.Sup', start: expect.any(Function), type: 'supervisor', shutdown: 'infinity' });
    const start = (): never => {
      throw new Error('foo.bar');
    };
    expect(Supervisor.childSpec('Stack.Sup', init, { id: 'id', restart: 'temporary', start })).toEqual({ id: 'id', restart: 'temporary', start, type: 'supervisor', shutdown: 'infinity' });
  });

  // Overrides replace the fields they name; a child that is no child spec is refused with what to pass.
  it('child_spec/2', () => {
    const task = sleeper('Task');
    const overridden: ChildSpec = { ...task, id: 'foo', restart: 'permanent', shutdown: 'infinity' };
    expect(validateSupervisorSpec({ children: [overridden] }).children[0]).toMatchObject({ id: 'foo', restart: 'permanent', shutdown: 'infinity' });
    expect(() => validateSupervisorSpec({ children: ['other' as unknown as ChildSpec] })).toThrow(InvalidChildSpecError);
    expect(() => validateSupervisorSpec({ children: ['other' as unknown as ChildSpec] })).toThrow(/a child spec must be an object with id and start/);
  });

  // Elixir's Supervisor.init defaults to 3 restarts in 5 s; ours are OTP's supervisor defaults (1 in 5 s).
  it('init/2', () => {
    expect(validateSupervisorSpec({ strategy: 'one_for_one', children: [sleeper('Task')] }).flags).toEqual({ strategy: 'one_for_one', intensity: 1, period: 5, autoShutdown: 'never' });
    expect(validateSupervisorSpec({ strategy: 'one_for_all', intensity: 1, period: 2, children: [sleeper('Task')] }).flags).toEqual({
      strategy: 'one_for_all',
      intensity: 1,
      period: 2,
      autoShutdown: 'never',
    });
  });

  it('start_link/2 with via', async () => {
    const rt = silentRuntime();
    const started = await Registry.start<string, unknown>(rt, { keys: 'unique', name: 'via_registry' });
    if (!('ok' in started)) throw new Error('registry did not start');
    okPid(await Supervisor.start(rt, { children: [] }, { name: started.registry.via('via_sup') }));
    expect(await Supervisor.whichChildren(rt, started.registry.via('via_sup'))).toEqual([]);
  });

  // :global on one node is a node-wide name.
  it('start_link/3 with global', async () => {
    const rt = silentRuntime();
    okPid(await Supervisor.start(rt, { children: [] }, { name: 'global_sup' }));
    expect(await Supervisor.whichChildren(rt, 'global_sup')).toEqual([]);
  });

  it('start_link/3 with local', async () => {
    const rt = silentRuntime();
    okPid(await Supervisor.start(rt, { children: [] }, { name: 'my_sup' }));
    expect(await Supervisor.whichChildren(rt, 'my_sup')).toEqual([]);
  });

  it('start_link/2', async () => {
    const rt = silentRuntime();
    const children = [stackSpec(['hello'], { name: 'dyn_stack' })];
    const pid = okPid(await Supervisor.start(rt, { strategy: 'one_for_one', children }));
    expect(await GenServer.call(rt, 'dyn_stack', 'pop')).toBe('hello');
    const restart = restarted(rt, pid);
    expect(await GenServer.call(rt, 'dyn_stack', 'stop')).toBe('ok');
    await restart;
    expect(await GenServer.call(rt, 'dyn_stack', 'pop')).toBe('hello');
    await Supervisor.stop(rt, pid);

    for (const name of [42, { invalid_tuple: 'my_gen_server_name' }, { via: 'Via', key: 'my_gen_server_name' }]) {
      await expect(Supervisor.start(rt, { children }, { name: name as never })).rejects.toBeInstanceOf(BadArgumentError);
    }
  });

  // A module-based supervisor (Stack.Sup) is an init function run in the supervisor's process.
  it('start_link/3', async () => {
    const rt = silentRuntime();
    const stackSup = (stack: string[], options: StartOptions): SupervisorInit => () => ({ strategy: 'one_for_one', children: [stackSpec(stack, options)] });
    const pid = okPid(await Supervisor.start(rt, stackSup(['hello'], { name: 'stat_stack' })));
    expect(await GenServer.call(rt, 'stat_stack', 'pop')).toBe('hello');
    await Supervisor.stop(rt, pid);
  });

  describe('start_child/2', () => {
    it('supports new child spec as tuple', async () => {
      const rt = silentRuntime();
      const pid = okPid(await Supervisor.start(rt, { children: [] }));
      const child = okPid(await Supervisor.startChild(rt, pid, { id: 'Task', restart: 'temporary', start: (parent) => ({ ok: rt.spawn(() => undefined, { link: parent.pid }) }) }));
      expect(typeof child.id).toBe('number');
    });

    it('supports new child spec', async () => {
      const rt = silentRuntime();
      const pid = okPid(await Supervisor.start(rt, { children: [] }));
      expect(rt.isAlive(okPid(await Supervisor.startChild(rt, pid, sleeper('Task'))))).toBe(true);
    });

    // Elixir answers {:error, :missing_id} and {:error, {:invalid_shutdown, -1}}; we reject with the field named.
    it('with invalid child spec', async () => {
      const rt = silentRuntime();
      const pid = okPid(await Supervisor.start(rt, { children: [] }));
      await expect(Supervisor.startChild(rt, pid, {} as ChildSpec)).rejects.toThrow(/id must be a non-empty string/);
      await expect(Supervisor.startChild(rt, pid, { id: '1', start: 'bar' } as unknown as ChildSpec)).rejects.toThrow(/start must be a function/);
      await expect(Supervisor.startChild(rt, pid, sleeper('1', { shutdown: -1 }))).rejects.toThrow(/shutdown must be .* not -1/);
      expect(await Supervisor.whichChildren(rt, pid)).toEqual([]);
    });

    it('with valid child spec', async () => {
      const rt = silentRuntime();
      const tp = await testProcess(rt);
      const pid = okPid(await Supervisor.startLink(tp.self, { children: [] }));
      for (const n of [0, 1]) {
        const child = okPid(await Supervisor.startChild(rt, pid, sleeper(String(n), { shutdown: n })));
        const down = tp.down(child);
        rt.exit(child, 'shutdown');
        expect(await down).toBe('shutdown');
      }
    });
  });

  it('child life cycle', async () => {
    const rt = silentRuntime();
    const pid = okPid(await Supervisor.start(rt, { strategy: 'one_for_one', children: [] }));
    expect(await Supervisor.whichChildren(rt, pid)).toEqual([]);
    expect(await Supervisor.countChildren(rt, pid)).toEqual({ specs: 0, active: 0, supervisors: 0, workers: 0 });

    let stack = okPid(await Supervisor.startChild(rt, pid, stackSpec(['hello'])));
    expect(await GenServer.call(rt, stack, 'pop')).toBe('hello');
    expect(await Supervisor.whichChildren(rt, pid)).toEqual([{ id: 'Stack', pid: stack, type: 'worker' }]);
    expect(await Supervisor.countChildren(rt, pid)).toEqual({ specs: 1, active: 1, supervisors: 0, workers: 1 });

    expect(await Supervisor.deleteChild(rt, pid, 'Stack')).toEqual({ error: 'running' });
    expect(await Supervisor.terminateChild(rt, pid, 'Stack')).toEqual({ ok: true });

    stack = okPid(await Supervisor.restartChild(rt, pid, 'Stack'));
    expect(await GenServer.call(rt, stack, 'pop')).toBe('hello');

    expect(await Supervisor.terminateChild(rt, pid, 'Stack')).toEqual({ ok: true });
    expect(await Supervisor.deleteChild(rt, pid, 'Stack')).toEqual({ ok: true });
    await Supervisor.stop(rt, pid);
    expect(rt.isAlive(pid)).toBe(false);
  });
});
