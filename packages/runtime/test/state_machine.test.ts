// StateMachine: an xstate v5 machine inside a runtime process (the gen_statem role). A traffic light takes
// events by cast and by plain send, emits to a notify pid, crashes on a machine error so monitors and
// supervisors see it, and exits 'normal' at its final state with the output sent to notify.

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { assign, emit, setup, type ContextFrom, type EventFrom } from 'xstate';
import { Down, MachineDone, MachineEmitted, Runtime, StateMachine, Supervisor, type InfoEvent, type Pid } from '../src/index.js';
import { collector } from './fixtures/collector.js';

const silent = () => new Runtime({ logger: pino({ level: 'silent' }) });

const light = setup({
  types: {
    context: {} as { cycles: number; lastInfo: unknown },
    input: {} as { cycles: number },
    events: {} as { type: 'TIMER' } | { type: 'POWER_OFF' } | { type: 'SHORT_CIRCUIT' } | { type: 'ARM' } | InfoEvent,
    emitted: {} as { type: 'changed'; to: 'green' | 'yellow' | 'red' },
    output: {} as { cycles: number },
  },
  actions: {
    explode: () => {
      throw new Error('bulb exploded');
    },
  },
}).createMachine({
  id: 'light',
  initial: 'green',
  context: ({ input }) => ({ cycles: input.cycles, lastInfo: null }),
  output: ({ context }) => ({ cycles: context.cycles }),
  on: {
    POWER_OFF: '.off',
    SHORT_CIRCUIT: { actions: 'explode' },
    'dspex.info': { actions: assign({ lastInfo: ({ event }) => event.message }) },
  },
  states: {
    green: { on: { TIMER: { target: 'yellow', actions: emit({ type: 'changed', to: 'yellow' as const }) }, ARM: 'armed' } },
    yellow: { on: { TIMER: { target: 'red', actions: emit({ type: 'changed', to: 'red' as const }) } } },
    red: {
      on: { TIMER: { target: 'green', actions: [assign({ cycles: ({ context }) => context.cycles + 1 }), emit({ type: 'changed', to: 'green' as const })] } },
    },
    // Fails on a timer, outside any handler of the process.
    armed: { after: { 0: { actions: 'explode' } } },
    off: { type: 'final' },
  },
});

type LightEvent = EventFrom<typeof light>;
type LightContext = ContextFrom<typeof light>;

async function startLight(rt: Runtime, notify?: Pid): Promise<Pid> {
  const started = await StateMachine.start(rt, light, { input: { cycles: 0 }, ...(notify === undefined ? {} : { notify }) });
  if (!('ok' in started)) throw new Error('the light did not start');
  return started.ok;
}

describe('StateMachine', () => {
  it('casts and plain messages are events; snapshot shows value and context; emitted events reach notify', async () => {
    const rt = silent();
    const notify = collector(rt);
    const pid = await startLight(rt, notify.pid);
    expect(await StateMachine.snapshot<LightContext>(rt, pid)).toEqual({ value: 'green', context: { cycles: 0, lastInfo: null }, status: 'active', output: undefined });
    StateMachine.send<LightEvent>(rt, pid, { type: 'TIMER' });
    rt.send(pid, 'TIMER'); // a string is { type: string }
    rt.send(pid, { type: 'TIMER' });
    const state = await StateMachine.snapshot<LightContext>(rt, pid);
    expect(state.value).toBe('green');
    expect(state.context.cycles).toBe(1);
    const emitted = notify.seen.filter((m): m is MachineEmitted => m instanceof MachineEmitted);
    expect(emitted.map((m) => m.event)).toEqual([
      { type: 'changed', to: 'yellow' },
      { type: 'changed', to: 'red' },
      { type: 'changed', to: 'green' },
    ]);
    expect(emitted.every((m) => m.machine === pid)).toBe(true);
  });

  it('a message that is not an event arrives as a dspex.info event', async () => {
    const rt = silent();
    const pid = await startLight(rt);
    rt.send(pid, 42);
    expect((await StateMachine.snapshot<LightContext>(rt, pid)).context.lastInfo).toBe(42);
  });

  it('an action that throws crashes the process: a monitor sees DOWN with the error', async () => {
    const rt = silent();
    const reports: unknown[] = [];
    rt.telemetry.on('crash_report', (e) => reports.push(e.reason));
    const watcher = collector(rt);
    const pid = await startLight(rt);
    rt.monitor(watcher.pid, pid);
    StateMachine.send<LightEvent>(rt, pid, { type: 'SHORT_CIRCUIT' });
    const down = await watcher.next<Down>((m) => m instanceof Down);
    expect(down.reason).toBeInstanceOf(Error);
    expect((down.reason as Error).message).toBe('bulb exploded');
    expect(reports).toEqual([down.reason]);
  });

  it('an error on a delayed transition, outside any handler, crashes the process too', async () => {
    const rt = silent();
    const watcher = collector(rt);
    const pid = await startLight(rt);
    rt.monitor(watcher.pid, pid);
    StateMachine.send<LightEvent>(rt, pid, { type: 'ARM' });
    const down = await watcher.next<Down>((m) => m instanceof Down);
    expect((down.reason as Error).message).toBe('bulb exploded');
  });

  it('a final state exits normal; the output goes to notify before the DOWN', async () => {
    const rt = silent();
    const observer = collector(rt);
    const pid = await startLight(rt, observer.pid);
    rt.monitor(observer.pid, pid);
    for (let i = 0; i < 3; i++) StateMachine.send<LightEvent>(rt, pid, { type: 'TIMER' });
    StateMachine.send<LightEvent>(rt, pid, { type: 'POWER_OFF' });
    const down = await observer.next<Down>((m) => m instanceof Down);
    expect(down.reason).toBe('normal');
    const done = observer.seen.find((m): m is MachineDone => m instanceof MachineDone);
    expect(done).toEqual(new MachineDone(pid, { cycles: 1 }));
    expect(observer.seen.indexOf(done)).toBeLessThan(observer.seen.indexOf(down));
  });

  it('a machine that fails while starting makes start return { error }', async () => {
    const broken = setup({
      actions: {
        explode: () => {
          throw new Error('no power at boot');
        },
      },
    }).createMachine({ id: 'broken', entry: 'explode' });
    const rt = silent();
    const started = await StateMachine.start(rt, broken);
    expect(started).toMatchObject({ error: { message: 'no power at boot' } });
  });

  it('under a supervisor, a crashed machine is restarted in its initial state', async () => {
    const rt = silent();
    const restarted = new Promise<unknown>((resolve) => rt.telemetry.once('restart', (e) => resolve(e.reason)));
    const spec = StateMachine.childSpec('light', light, { input: { cycles: 7 }, name: 'light' }, { restart: 'transient' });
    const started = await Supervisor.start(rt, { intensity: 3, children: [spec] });
    expect('ok' in started).toBe(true);
    StateMachine.send<LightEvent>(rt, 'light', { type: 'TIMER' });
    expect((await StateMachine.snapshot(rt, 'light')).value).toBe('yellow');
    StateMachine.send<LightEvent>(rt, 'light', { type: 'SHORT_CIRCUIT' });
    expect(await restarted).toMatchObject({ message: 'bulb exploded' });
    expect(await StateMachine.snapshot<LightContext>(rt, 'light')).toMatchObject({ value: 'green', context: { cycles: 7 } });
    await rt.shutdown();
  });
});
