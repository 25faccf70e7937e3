// Tests of the testing kit itself (@dspex/runtime/testing): fault injection hits exactly what it says and its
// undo restores delivery, seeded scheduling replays, observers resolve on the right event, and the model-based
// supervisor commands fail, with a seed and a path, on a tree that breaks their contract.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CallExitError, Down, GenServer, Registry, Supervisor, isNormalExit, isShutdown, normalizeChildSpec, type ChildSpec, type GenServerBehavior, type Pid, type ProcessContext } from '../src/index.js';
import {
  arbChildSpec,
  arbExitReason,
  awaitDown,
  collector,
  crash,
  crashOnNth,
  createTestRuntime,
  delayMessages,
  dropMessages,
  kill,
  nextEvent,
  randomProcess,
  runSupervisorModel,
  supervisorCommands,
  type SupervisorModelConfig,
} from '../src/testing/index.js';

/** A raw process that records the messages it handles into `handled`. */
function recorder(rt: ReturnType<typeof createTestRuntime>, handled: unknown[]): Pid {
  return rt.spawn((message: unknown) => {
    handled.push(message);
  });
}

const echo: GenServerBehavior<number, void, 'ping', number> = {
  init: () => ({ ok: 0 }),
  handleCall: (_request, _from, calls) => ({ reply: calls + 1, state: calls + 1 }),
};
const echoChild = (id: string, extra: Partial<ChildSpec> = {}): ChildSpec => ({ id, start: (parent) => GenServer.startLink(parent, echo, undefined), ...extra });

describe('crashOnNth', () => {
  it('handles the messages before the Nth, then exits with the reason on the Nth, even in a burst', async () => {
    const rt = createTestRuntime();
    const handled: unknown[] = [];
    const pid = recorder(rt, handled);
    crashOnNth(rt, pid, 3, 'boom');
    for (let i = 1; i <= 5; i++) rt.send(pid, i);
    expect(await awaitDown(rt, pid)).toBe('boom');
    expect(handled).toEqual([1, 2]);
    expect(rt.crashReports.map((r) => r.reason)).toEqual(['boom']);
  });

  it('fails the call that is the Nth message to a GenServer with CallExitError carrying the reason', async () => {
    const rt = createTestRuntime();
    const started = await GenServer.start(rt, echo, undefined);
    const server = (started as { ok: Pid }).ok;
    const reason = new Error('injected');
    crashOnNth(rt, server, 2, reason);
    expect(await GenServer.call(rt, server, 'ping')).toBe(1);
    const failed = await GenServer.call(rt, server, 'ping').catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(CallExitError);
    expect((failed as CallExitError).reason).toBe(reason);
  });

  it('ends a process waiting in a selective receive when the Nth message arrives', async () => {
    const rt = createTestRuntime();
    const received: unknown[] = [];
    const pid = rt.spawn({
      async init(self: ProcessContext) {
        for (;;) received.push(await self.receive((m) => m === 'wanted'));
      },
      receive() {},
    });
    await rt.whenIdle();
    crashOnNth(rt, pid, 2, 'boom');
    rt.send(pid, 'wanted');
    rt.send(pid, 'wanted');
    expect(await awaitDown(rt, pid)).toBe('boom');
    expect(received).toEqual(['wanted']);
  });

  it('does nothing once undone, and rejects a count below 1', async () => {
    const rt = createTestRuntime();
    const handled: unknown[] = [];
    const pid = recorder(rt, handled);
    const undo = crashOnNth(rt, pid, 2, 'boom');
    undo();
    expect(rt.interceptor).toBeNull();
    const sink = collector(rt);
    rt.send(pid, 'a');
    rt.send(pid, 'b');
    rt.send(sink.pid, 'after');
    await sink.next((m) => m === 'after');
    await rt.whenIdle();
    expect(handled).toEqual(['a', 'b']);
    expect(rt.isAlive(pid)).toBe(true);
    expect(() => crashOnNth(rt, pid, 0)).toThrow(/counts from 1/);
  });
});

describe('dropMessages and delayMessages', () => {
  it('drops the selected messages (with a message_dropped event) until undone', async () => {
    const rt = createTestRuntime();
    const sink = collector(rt);
    const undo = dropMessages(rt, { to: sink.pid, match: (m) => m === 'x', probability: 1 });
    rt.send(sink.pid, 'x');
    rt.send(sink.pid, 'y');
    await sink.next((m) => m === 'y');
    expect(sink.messages).toEqual(['y']);
    expect(rt.eventsNamed('message_dropped').map((e) => e.message)).toEqual(['x']);
    undo();
    rt.send(sink.pid, 'x');
    rt.send(sink.pid, 'y');
    await sink.next((m) => m === 'y');
    expect(sink.messages).toEqual(['y', 'x', 'y']);
  });

  it('drops the same messages for the same seed, and some but not all at probability 0.5', async () => {
    const survivors = async (seed: number): Promise<unknown[]> => {
      const rt = createTestRuntime();
      const sink = collector(rt);
      dropMessages(rt, { to: sink.pid, match: (m) => typeof m === 'number', probability: 0.5, seed });
      for (let i = 0; i < 64; i++) rt.send(sink.pid, i);
      rt.send(sink.pid, 'end');
      await sink.next((m) => m === 'end');
      return sink.messages.filter((m) => m !== 'end');
    };
    const first = await survivors(7);
    expect(await survivors(7)).toEqual(first);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(64);
    expect(await survivors(8)).not.toEqual(first);
  });

  it('delivers the selected messages after the others, and in order again once undone', async () => {
    const rt = createTestRuntime();
    const sink = collector(rt);
    const undo = delayMessages(rt, { to: sink.pid, match: (m) => m === 'late', delayMs: 5 });
    rt.send(sink.pid, 'late');
    rt.send(sink.pid, 'early');
    await sink.next((m) => m === 'late');
    expect(sink.messages).toEqual(['early', 'late']);
    await sink.next((m) => m === 'early');
    undo();
    expect(rt.interceptor).toBeNull();
    rt.send(sink.pid, 'late');
    rt.send(sink.pid, 'early');
    await sink.next((m) => m === 'early');
    expect(sink.messages).toEqual(['early', 'late', 'late', 'early']);
  });

  it('chains faults in installation order and restores an interceptor installed before them', () => {
    const rt = createTestRuntime();
    const seen: unknown[] = [];
    rt.interceptor = (_to, message) => {
      seen.push(message);
      return 'deliver';
    };
    const mine = rt.interceptor;
    const sink = collector(rt);
    const undoDrop = dropMessages(rt, { match: (m) => m === 'dropped', probability: 1 });
    const undoDelay = delayMessages(rt, { match: (m) => m === 'dropped', delayMs: 1 });
    rt.send(sink.pid, 'dropped');
    rt.send(sink.pid, 'kept');
    expect(seen).toEqual(['kept']);
    expect(rt.eventsNamed('message_dropped')).toHaveLength(1);
    undoDrop();
    undoDelay();
    expect(rt.interceptor).toBe(mine);
  });
});

describe('seeded and manual scheduling', () => {
  /** Four processes each handling four messages one at a time: the order they ran in. */
  async function interleaving(seed: number): Promise<string[]> {
    const rt = createTestRuntime({ seed, manual: true, reductionsPerSlice: 1 });
    const trace: string[] = [];
    const pids = ['p', 'q', 'r', 's'].map((name) => rt.spawn((n: number) => void trace.push(`${name}${n}`)));
    for (let n = 0; n < 4; n++) for (const pid of pids) rt.send(pid, n);
    expect(trace).toEqual([]); // manual: nothing runs before drain
    await rt.drain();
    expect(trace).toHaveLength(16);
    return trace;
  }

  it('gives the same interleaving twice for a seed and another one for some other seed', async () => {
    const first = await interleaving(42);
    expect(await interleaving(42)).toEqual(first);
    const others = await Promise.all([1, 2, 3, 4, 5].map(interleaving));
    expect(others.some((trace) => trace.join() !== first.join())).toBe(true);
    // Each process still handles its own messages in order.
    for (const name of ['p', 'q', 'r', 's']) expect(first.filter((t) => t.startsWith(name))).toEqual([0, 1, 2, 3].map((n) => `${name}${n}`));
  });
});

describe('observers', () => {
  it('nextEvent resolves to the next event that matches', async () => {
    const rt = createTestRuntime();
    const a = rt.spawn(() => undefined);
    const b = rt.spawn(() => undefined);
    const exitOfB = nextEvent(rt, 'exit', (event) => event.pid === b);
    crash(rt, a, 'first');
    crash(rt, b, 'second');
    expect((await exitOfB).reason).toBe('second');
  });

  it('kill resolves to killed; awaitDown of a dead process resolves at once; collector.next takes in order', async () => {
    const rt = createTestRuntime();
    const sink = collector(rt);
    const victim = rt.spawn(() => undefined, { link: sink.pid });
    rt.monitor(sink.pid, victim);
    expect(await kill(rt, victim)).toBe('killed');
    expect(await awaitDown(rt, victim)).toBe('killed');
    const [exit, down] = [await sink.next(), await sink.next()];
    expect(exit).toMatchObject({ kind: 'EXIT', reason: 'killed' });
    expect(down).toBeInstanceOf(Down);
  });

  it('collects supervisor reports and records restart telemetry without printing', async () => {
    const rt = createTestRuntime();
    const started = await Supervisor.start(rt, { intensity: 3, children: [echoChild('worker')] });
    const sup = (started as { ok: Pid }).ok;
    const [child] = await Supervisor.whichChildren(rt, sup);
    const restarted = nextEvent(rt, 'restart', (event) => event.supervisor === sup);
    crash(rt, child!.pid as Pid, 'boom');
    expect((await restarted).childId).toBe('worker');
    expect(rt.supervisorReports).toContainEqual(expect.objectContaining({ context: 'child_terminated', childId: 'worker', reason: 'boom' }));
    expect(rt.eventsNamed('restart')).toHaveLength(1);
  });

  it('advanceClock moves only a fake clock', () => {
    const rt = createTestRuntime({ fakeClock: true });
    expect(rt.clock()).toBe(0);
    rt.advanceClock(1500);
    expect(rt.clock()).toBe(1500);
    expect(() => createTestRuntime().advanceClock(1)).toThrow(/fakeClock/);
  });

  it('randomProcess picks processes inside the tree, never the root, workers only when asked, replayably', async () => {
    const rt = createTestRuntime();
    const inner = Supervisor.childSpec('inner', { children: [echoChild('w2'), echoChild('w3')] });
    const started = await Supervisor.start(rt, { children: [echoChild('w1'), inner] });
    const root = (started as { ok: Pid }).ok;
    const outsider = rt.spawn(() => undefined);
    const [w1, innerInfo] = await Supervisor.whichChildren(rt, root);
    const innerPid = innerInfo!.pid as Pid;
    const workers = [w1!.pid as Pid, ...(await Supervisor.whichChildren(rt, innerPid)).map((c) => c.pid as Pid)];
    /** One pick per value of the random source, spread evenly over [0, 1). */
    const picks = async (workersOnly: boolean): Promise<Array<Pid | undefined>> => {
      const out: Array<Pid | undefined> = [];
      for (let i = 0; i < 20; i++) out.push(await randomProcess(rt, root, { random: () => i / 20, workersOnly }));
      return out;
    };
    const any = await picks(false);
    expect(new Set(any)).toEqual(new Set([...workers, innerPid]));
    expect(any).not.toContain(root);
    expect(any).not.toContain(outsider);
    expect(new Set(await picks(true))).toEqual(new Set(workers));
    const seeded = [await randomProcess(rt, root, { seed: 9 }), await randomProcess(rt, root, { seed: 9 })];
    expect(seeded[0]).toBe(seeded[1]);
  });
});

describe('arbitraries', () => {
  it('arbExitReason draws every kind of OTP exit reason', () => {
    const kinds = new Set(
      fc.sample(arbExitReason(), { seed: 1, numRuns: 500 }).map((reason) =>
        reason === 'normal' ? 'normal' : reason === 'kill' ? 'kill' : reason === 'shutdown' ? 'shutdown' : isShutdown(reason) ? 'shutdown_with' : reason instanceof Error ? 'error' : typeof reason,
      ),
    );
    expect(kinds).toEqual(new Set(['normal', 'shutdown', 'shutdown_with', 'kill', 'error', 'string']));
    const strings = fc.sample(arbExitReason(['string']), { seed: 2, numRuns: 200 });
    expect(strings.every((s) => typeof s === 'string' && !isNormalExit(s) && !['kill', 'killed', 'noproc'].includes(s))).toBe(true);
  });

  it('arbChildSpec draws valid child specs around the given start', () => {
    const start = echoChild('x').start;
    for (const spec of fc.sample(arbChildSpec(start), { seed: 3, numRuns: 100 })) {
      expect(() => normalizeChildSpec(spec)).not.toThrow();
      expect(spec.start).toBe(start);
    }
  });
});

describe('supervisorCommands', () => {
  it('fails, printing seed and path, on a child that breaks the contract (it crashes on its second call)', async () => {
    const fragile: GenServerBehavior<number, void, 'ping', number> = {
      init: () => ({ ok: 0 }),
      handleCall: (_request, _from, calls) => {
        if (calls === 1) throw new Error('fragile');
        return { reply: calls + 1, state: calls + 1 };
      },
    };
    const spec: ChildSpec = { id: 'fragile', start: (parent) => GenServer.startLink(parent, fragile, undefined) };
    const config: SupervisorModelConfig = {
      strategy: 'one_for_one',
      intensity: 10,
      period: 5,
      children: [spec],
      call: async (rt, pid) => void (await GenServer.call(rt, pid, 'ping')),
    };
    const failure = await fc
      .assert(fc.asyncProperty(supervisorCommands(config), fc.scheduler(), (commands, scheduler) => runSupervisorModel(config, commands, { scheduler })), { seed: 5, numRuns: 200 })
      .then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toMatch(/seed: 5, path: "[\d:]+"/);
    expect(message).toMatch(/Counterexample: .*call\(fragile\)/);
  });
});

describe('supervisorCommands on a tree with children that answer no calls', () => {
  const counter: GenServerBehavior<number, void, 'ping', number> = {
    init: () => ({ ok: 0 }),
    handleCall: (_request, _from, calls) => ({ reply: calls + 1, state: calls + 1 }),
  };
  const children: ChildSpec[] = [
    Registry.childSpec({ keys: 'unique', name: 'kit-names' }),
    { id: 'worker', start: (parent) => GenServer.startLink(parent, counter, undefined) },
  ];
  const run = (config: SupervisorModelConfig) =>
    fc.assert(fc.asyncProperty(supervisorCommands(config), fc.scheduler(), (commands, scheduler) => runSupervisorModel(config, commands, { scheduler })), { seed: 9, numRuns: 60 });

  it('answersCalls keeps call commands away from a Registry child', async () => {
    await run({
      strategy: 'one_for_one',
      intensity: 100,
      period: 5,
      children,
      call: async (rt, pid) => void (await GenServer.call(rt, pid, 'ping')),
      answersCalls: ['worker'],
    });
  });

  it('a call hook can probe a Registry child with Registry.probe', async () => {
    await run({
      strategy: 'rest_for_one',
      intensity: 100,
      period: 5,
      children,
      call: async (rt, pid, { id }) => void (id === 'kit-names' ? await Registry.probe(rt, pid) : await GenServer.call(rt, pid, 'ping')),
    });
  });
});
