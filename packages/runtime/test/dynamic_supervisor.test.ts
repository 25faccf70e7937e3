// DynamicSupervisor, ported from Elixir's dynamic_supervisor_test.exs: each test is named after the case it
// reproduces. Waits are on DOWN (runtime.watch), telemetry events and call replies; time is faked only for
// the restart intensity window.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  BadArgumentError,
  DynamicSupervisor,
  GenServer,
  InvalidChildSpecError,
  MaxChildrenError,
  Runtime,
  Supervisor,
  type ChildSpec,
  type ExitReason,
  type Pid,
  type ProcessContext,
  type StartResult,
  type TelemetryEvents,
} from '../src/index.js';
import { asProcess } from '../src/runtime.js';

const silent = (clock?: () => number) => new Runtime({ logger: pino({ level: 'silent' }), ...(clock === undefined ? {} : { clock }) });

/** Resolves with the exit reason of `pid` (a runtime-internal monitor). */
const down = (rt: Runtime, pid: Pid): Promise<ExitReason> => {
  const process = asProcess(pid);
  return process.alive ? new Promise((resolve) => rt.watch(process, (reason) => resolve(reason))) : Promise.resolve(process.exitReason);
};

/** Elixir's assert_kill: send an exit signal and wait for the DOWN. */
async function assertKill(rt: Runtime, pid: Pid, reason: ExitReason): Promise<void> {
  const exited = down(rt, pid);
  rt.exit(pid, reason);
  await exited;
}

function nextEvent<E extends keyof TelemetryEvents>(rt: Runtime, name: E): Promise<TelemetryEvents[E][0]> {
  return new Promise((resolve) => {
    const listener = (event: TelemetryEvents[E][0]): void => {
      rt.telemetry.off(name, listener as never);
      resolve(event);
    };
    rt.telemetry.on(name, listener as never);
  });
}

/** A worker that ignores messages and dies of any exit signal (Elixir's sleepy_worker). */
const sleepy = (parent: ProcessContext): StartResult => ({ ok: parent.runtime.spawn(() => undefined, { link: parent.pid, label: 'sleepy' }) });
const sleepyWorker = (overrides: Partial<ChildSpec> = {}): ChildSpec => ({ id: 'sleepy', start: sleepy, ...overrides });

/** Starts like a sleepy worker the first time, then returns `later` on every restart (Elixir's [:restart, value]). */
function restartWorker(later: () => StartResult, overrides: Partial<ChildSpec> = {}): ChildSpec {
  let started = false;
  return {
    id: 'restart',
    start: (parent) => {
      if (started) return later();
      started = true;
      return sleepy(parent);
    },
    ...overrides,
  };
}

async function startSup(rt: Runtime, options: Parameters<typeof DynamicSupervisor.start>[1] = {}): Promise<Pid> {
  const started = await DynamicSupervisor.start(rt, options);
  if (!('ok' in started)) throw new Error(`supervisor did not start: ${String(started)}`);
  return started.ok;
}

async function startOk(rt: Runtime, sup: Pid, spec: ChildSpec): Promise<Pid> {
  const result = await DynamicSupervisor.startChild(rt, sup, spec);
  if (!('ok' in result)) throw new Error('child did not start');
  return result.ok;
}

describe('DynamicSupervisor start_child/2', () => {
  it('with max_children', async () => {
    const rt = silent();
    const none = await startSup(rt, { maxChildren: 0 });
    expect(await DynamicSupervisor.startChild(rt, none, sleepyWorker())).toEqual({ error: 'max_children' });
    await expect(DynamicSupervisor.startChildOrThrow(rt, none, sleepyWorker())).rejects.toBeInstanceOf(MaxChildrenError);

    const one = await startSup(rt, { maxChildren: 1 });
    await startOk(rt, one, sleepyWorker());
    expect(await DynamicSupervisor.startChild(rt, one, sleepyWorker())).toEqual({ error: 'max_children' });
    expect(await DynamicSupervisor.countChildren(rt, one)).toEqual({ specs: 1, active: 1, supervisors: 0, workers: 1 });
    await rt.shutdown();
  });

  it('supports extra arguments', async () => {
    const rt = silent();
    const calls: unknown[][] = [];
    const sup = await startSup(rt, { extraArguments: ['from_sup', 42] });
    // The spec's own arguments come after the supervisor's, as Elixir prepends extra_arguments.
    const pid = await startOk(rt, sup, {
      id: 'extra',
      restart: 'temporary',
      start: (parent, ...extra) => {
        calls.push([...extra, 'own']);
        return sleepy(parent);
      },
    });
    expect(rt.isAlive(pid)).toBe(true);
    expect(calls).toEqual([['from_sup', 42, 'own']]);
    await rt.shutdown();
  });

  it('restarting a child with extra_arguments successfully restarts child', async () => {
    const rt = silent();
    const seen: unknown[] = [];
    const sup = await startSup(rt, { extraArguments: [(m: string) => seen.push(m)] });
    const child = await startOk(rt, sup, {
      id: 'extra',
      restart: 'transient',
      start: (parent, notify) => {
        (notify as (m: string) => void)('from_child');
        return sleepy(parent);
      },
    });
    expect(seen).toEqual(['from_child']);
    const restarted = nextEvent(rt, 'restart');
    await assertKill(rt, child, 'oops');
    expect((await restarted).reason).toBe('oops');
    expect(seen).toEqual(['from_child', 'from_child']);
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ active: 1, workers: 1 });
    await rt.shutdown();
  });

  it('with different returns', async () => {
    const rt = silent();
    const sup = await startSup(rt);
    expect(await DynamicSupervisor.startChild(rt, sup, { id: 'ignore', start: () => ({ ignore: true }) })).toEqual({ ignore: true });
    expect(await DynamicSupervisor.startChild(rt, sup, { id: 'error', start: () => ({ error: 'found' }) })).toEqual({ error: 'found' });
    expect(await DynamicSupervisor.startChild(rt, sup, { id: 'unknown', start: () => 'unknown' as unknown as StartResult })).toEqual({ error: { badReturn: 'unknown' } });
    const thrown = new Error('oops');
    expect(await DynamicSupervisor.startChild(rt, sup, { id: 'throw', start: () => { throw thrown; } })).toEqual({ error: thrown });
    await expect(DynamicSupervisor.startChildOrThrow(rt, sup, { id: 'error', start: () => ({ error: 'found' }) })).rejects.toMatchObject({ code: 'DSPEX_CHILD_START', reason: 'found' });
    expect(await DynamicSupervisor.countChildren(rt, sup)).toEqual({ specs: 0, active: 0, supervisors: 0, workers: 0 });
    await rt.shutdown();
  });

  it('with invalid child spec', async () => {
    const rt = silent();
    const sup = await startSup(rt);
    await expect(DynamicSupervisor.startChild(rt, sup, {} as ChildSpec)).rejects.toBeInstanceOf(InvalidChildSpecError);
    await expect(DynamicSupervisor.startChild(rt, sup, { id: 'x', start: sleepy, shutdown: -1 })).rejects.toMatchObject({ code: 'DSPEX_INVALID_CHILD_SPEC' });
    await expect(DynamicSupervisor.startChild(rt, sup, { id: 'x', start: sleepy, significant: true })).rejects.toMatchObject({ code: 'DSPEX_INVALID_CHILD_SPEC' });
    await expect(DynamicSupervisor.startChild(rt, sup, { id: 'x', start: sleepy, restart: 'sometimes' as never })).rejects.toMatchObject({ code: 'DSPEX_INVALID_CHILD_SPEC' });
    // The supervisor never saw the bad specs and keeps working.
    expect(rt.isAlive(sup)).toBe(true);
    await startOk(rt, sup, sleepyWorker());
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ active: 1 });
    await rt.shutdown();
  });

  it('with non-ok init (bad options)', async () => {
    const rt = silent();
    await expect(DynamicSupervisor.start(rt, { strategy: 'one_for_all' as never })).rejects.toBeInstanceOf(BadArgumentError);
    await expect(DynamicSupervisor.start(rt, { maxRestarts: -1 })).rejects.toBeInstanceOf(BadArgumentError);
    await expect(DynamicSupervisor.start(rt, { maxSeconds: 0 })).rejects.toBeInstanceOf(BadArgumentError);
    await expect(DynamicSupervisor.start(rt, { maxChildren: -1 })).rejects.toBeInstanceOf(BadArgumentError);
    await expect(DynamicSupervisor.start(rt, { extraArguments: -1 as never })).rejects.toBeInstanceOf(BadArgumentError);
    expect(rt.processCount).toBe(0);
  });

  it('temporary child is not restarted regardless of reason', async () => {
    const rt = silent();
    const sup = await startSup(rt);
    const child = sleepyWorker({ restart: 'temporary' });
    await assertKill(rt, await startOk(rt, sup, child), 'shutdown');
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ workers: 0, active: 0 });
    await assertKill(rt, await startOk(rt, sup, child), 'whatever');
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ workers: 0, active: 0 });
    await rt.shutdown();
  });

  it('transient child is restarted unless normal/shutdown/{shutdown, _}', async () => {
    const rt = silent();
    const sup = await startSup(rt);
    const child = sleepyWorker({ restart: 'transient' });
    await assertKill(rt, await startOk(rt, sup, child), 'shutdown');
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ workers: 0, active: 0 });
    await assertKill(rt, await startOk(rt, sup, child), { shutdown: 'signal' });
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ workers: 0, active: 0 });
    const crashed = await startOk(rt, sup, child);
    await assertKill(rt, crashed, 'whatever');
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ workers: 1, active: 1 });
    const [info] = await DynamicSupervisor.whichChildren(rt, sup);
    expect(info!.pid).not.toBe(crashed);
    expect(rt.isAlive(info!.pid as Pid)).toBe(true);
    await rt.shutdown();
  });

  it('permanent child is restarted regardless of reason', async () => {
    const rt = silent();
    const restarts: unknown[] = [];
    rt.telemetry.on('restart', (e) => restarts.push(e.reason));
    const sup = await startSup(rt, { maxRestarts: 100_000 });
    const child = sleepyWorker({ restart: 'permanent' });
    await assertKill(rt, await startOk(rt, sup, child), 'shutdown');
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ workers: 1, active: 1 });
    await assertKill(rt, await startOk(rt, sup, child), { shutdown: 'signal' });
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ workers: 2, active: 2 });
    await assertKill(rt, await startOk(rt, sup, child), 'whatever');
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ workers: 3, active: 3 });
    expect(restarts).toEqual(['shutdown', { shutdown: 'signal' }, 'whatever']);
    await rt.shutdown();
  });

  it('child is restarted with different values (which_children shows restarting)', async () => {
    const clock = () => 0;
    const rt = silent(clock);
    const sup = await startSup(rt, { maxRestarts: 1_000_000_000 });
    const child1 = await startOk(rt, sup, restartWorker(() => ({ ignore: true })));
    expect(await DynamicSupervisor.whichChildren(rt, sup)).toEqual([{ id: undefined, pid: child1, type: 'worker' }]);
    await assertKill(rt, child1, 'shutdown'); // restart returns ignore: the child is gone
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ workers: 0, active: 0 });

    const child2 = await startOk(rt, sup, restartWorker(() => ({ error: 'found' })));
    const failed = nextEvent(rt, 'start_error');
    await assertKill(rt, child2, 'shutdown');
    expect((await failed).reason).toBe('found');
    expect(await DynamicSupervisor.whichChildren(rt, sup)).toEqual([{ id: undefined, pid: 'restarting', type: 'worker' }]);
    expect(await DynamicSupervisor.countChildren(rt, sup)).toEqual({ specs: 1, active: 0, supervisors: 0, workers: 1 });
    // The same request shapes as Supervisor's: its client (and the tree walker) read a dynamic supervisor too.
    expect(await Supervisor.whichChildren(rt, sup)).toEqual([{ id: undefined, pid: 'restarting', type: 'worker' }]);
    await DynamicSupervisor.stop(rt, sup);
  });

  it('restarting on init children counted in max_children', async () => {
    const rt = silent(() => 0);
    const sup = await startSup(rt, { maxChildren: 1, maxRestarts: 1_000_000_000 });
    const child = await startOk(rt, sup, restartWorker(() => ({ error: 'found' })));
    const failed = nextEvent(rt, 'start_error');
    await assertKill(rt, child, 'shutdown');
    await failed;
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ workers: 1, active: 0 });
    expect(await DynamicSupervisor.startChild(rt, sup, sleepyWorker())).toEqual({ error: 'max_children' });
    await DynamicSupervisor.stop(rt, sup);
  });

  it('child is restarted when trying again', async () => {
    const rt = silent();
    const attempts: boolean[] = [];
    let calls = 0;
    const sup = await startSup(rt, { maxRestarts: 2 });
    const child = await startOk(rt, sup, {
      id: 'try_again',
      start: (parent) => {
        calls++;
        const ok = calls !== 2; // the first restart fails, the retry succeeds
        attempts.push(ok);
        return ok ? sleepy(parent) : { error: 'try_again' };
      },
    });
    const restarted = nextEvent(rt, 'restart');
    await assertKill(rt, child, 'shutdown');
    const event = await restarted;
    expect(attempts).toEqual([true, false, true]);
    expect(rt.isAlive(event.pid!)).toBe(true);
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ workers: 1, active: 1 });
    await rt.shutdown();
  });

  it('child triggers maximum restarts', async () => {
    const rt = silent();
    const sup = await startSup(rt, { maxRestarts: 1 });
    const child = await startOk(rt, sup, restartWorker(() => ({ error: 'found' })));
    const supDown = down(rt, sup);
    const gaveUp = nextEvent(rt, 'supervisor_shutdown');
    await assertKill(rt, child, 'shutdown');
    expect(await supDown).toBe('shutdown');
    expect(await gaveUp).toMatchObject({ supervisor: sup, reason: 'reached_max_restart_intensity' });
  });

  it('stops when restart intensity is exceeded', async () => {
    let now = 0;
    const rt = silent(() => now);
    const sup = await startSup(rt, { maxRestarts: 2, maxSeconds: 5 });
    const gaveUp: unknown[] = [];
    rt.telemetry.on('supervisor_shutdown', (e) => gaveUp.push(e.reason));
    let child = await startOk(rt, sup, sleepyWorker());
    const supDown = down(rt, sup);
    /** Crashes the child; true once it is restarted, false if the supervisor gave up instead. */
    const crash = async (): Promise<boolean> => {
      const restarted = nextEvent(rt, 'restart');
      await assertKill(rt, child, 'boom');
      const pid = await Promise.race([restarted.then((e) => e.pid), supDown.then(() => null)]);
      if (pid === null) return false;
      child = pid;
      return true;
    };
    expect([await crash(), await crash()]).toEqual([true, true]); // two restarts within 5 s: allowed
    now = 6000; // both fall out of the window
    expect([await crash(), await crash()]).toEqual([true, true]);
    expect(gaveUp).toEqual([]);
    expect(await crash()).toBe(false); // a third restart within 5 s is one too many
    expect(await supDown).toBe('shutdown');
    expect(gaveUp).toEqual(['reached_max_restart_intensity']);
    expect(rt.isAlive(child)).toBe(false);
  });

  it('child triggers maximum intensity when trying again', async () => {
    const rt = silent();
    const sup = await startSup(rt, { maxRestarts: 10 });
    const starts: number[] = [];
    const child = await startOk(rt, sup, restartWorker(() => (starts.push(1), { error: 'found' })));
    const supDown = down(rt, sup);
    await assertKill(rt, child, 'shutdown');
    expect(await supDown).toBe('shutdown');
    expect(starts).toHaveLength(10); // ten failed restarts, the eleventh is past the intensity
  });
});

describe('DynamicSupervisor terminate/2', () => {
  it('terminates children in parallel', async () => {
    const rt = silent();
    const sup = await startSup(rt);
    const events: string[] = [];
    let started = 0;
    let release!: () => void;
    const bothStopping = new Promise<void>((resolve) => (release = resolve));
    // Each child's terminate waits until the other's has begun: stopping them one after another would
    // leave the first waiting until the supervisor kills it (after 2 s), and never log its end.
    const slowStopper = (name: string): ChildSpec => ({
      id: name,
      shutdown: 2000,
      start: (parent) =>
        GenServer.startLink(parent, {
          init: () => ({ ok: name }),
          async terminate() {
            events.push(`start:${name}`);
            if (++started === 2) release();
            await bothStopping;
            events.push(`end:${name}`);
          },
        }, undefined, { trapExit: true }),
    });
    const a = await startOk(rt, sup, slowStopper('a'));
    const b = await startOk(rt, sup, slowStopper('b'));
    const reasons = Promise.all([down(rt, a), down(rt, b)]);
    await DynamicSupervisor.stop(rt, sup);
    expect(await reasons).toEqual(['shutdown', 'shutdown']);
    expect(events.slice(0, 2).sort()).toEqual(['start:a', 'start:b']);
    expect(events.slice(2).sort()).toEqual(['end:a', 'end:b']);
  });

  it('terminates with mixed children', async () => {
    const rt = silent();
    const sup = await startSup(rt);
    const child1 = await startOk(rt, sup, sleepyWorker({ shutdown: 'infinity' }));
    const child2 = await startOk(rt, sup, sleepyWorker({ shutdown: 'brutal_kill' }));
    const reasons = Promise.all([down(rt, child1), down(rt, child2)]);
    await assertKill(rt, sup, 'shutdown');
    expect(await reasons).toEqual(['shutdown', 'killed']);
  });

  it('terminates children with expired integer shutdown', async () => {
    const rt = silent();
    const errors: unknown[] = [];
    rt.telemetry.on('shutdown_error', (e) => errors.push(e.reason));
    const sup = await startSup(rt);
    // A child that traps exits and never stops is killed once its shutdown time is up.
    const stubborn = await startOk(rt, sup, { id: 'tmt', shutdown: 1, start: (parent) => ({ ok: parent.runtime.spawn(() => undefined, { link: parent.pid, trapExit: true }) }) });
    const plain = await startOk(rt, sup, sleepyWorker({ shutdown: 1 }));
    const reasons = Promise.all([down(rt, plain), down(rt, stubborn)]);
    await DynamicSupervisor.stop(rt, sup);
    expect(await reasons).toEqual(['shutdown', 'killed']);
    expect(errors).toEqual(['killed']);
  });
});

describe('DynamicSupervisor terminate_child/2', () => {
  it('terminates child with integer shutdown', async () => {
    const rt = silent();
    const sup = await startSup(rt);
    const child = await startOk(rt, sup, sleepyWorker({ shutdown: 1000 }));
    const reason = down(rt, child);
    expect(await DynamicSupervisor.terminateChild(rt, sup, child)).toEqual({ ok: true });
    expect(await reason).toBe('shutdown');
    expect(await DynamicSupervisor.terminateChild(rt, sup, child)).toEqual({ error: 'not_found' });
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ workers: 0, active: 0 });
    await rt.shutdown();
  });

  it('terminates restarting child', async () => {
    const rt = silent(() => 0);
    const sup = await startSup(rt, { maxRestarts: 1_000_000_000 });
    const child = await startOk(rt, sup, restartWorker(() => ({ error: 'found' })));
    const failed = nextEvent(rt, 'start_error');
    await assertKill(rt, child, 'shutdown');
    await failed;
    expect(await DynamicSupervisor.terminateChild(rt, sup, child)).toEqual({ ok: true });
    expect(await DynamicSupervisor.terminateChild(rt, sup, child)).toEqual({ error: 'not_found' });
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ workers: 0, active: 0 });
    await DynamicSupervisor.stop(rt, sup);
  });
});
