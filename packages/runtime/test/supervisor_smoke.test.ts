import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { GenServer, Runtime, Supervisor, type ChildSpec, type Pid } from '../src/index.js';

const worker = (id: string, extra: Partial<ChildSpec> = {}): ChildSpec => ({
  id,
  start: (parent) => GenServer.startLink(parent, { init: () => ({ ok: null }), handleCall: (_r: unknown, _f: unknown, s: null) => ({ reply: 'pong', state: s }) }, undefined),
  ...extra,
});

describe('supervisor smoke', () => {
  it('restarts a crashed child one_for_one and stops children on stop', async () => {
    const rt = new Runtime({ logger: pino({ level: 'silent' }) });
    const started = await Supervisor.start(rt, { strategy: 'one_for_one', intensity: 3, children: [worker('a'), worker('b')] });
    const sup = (started as { ok: Pid }).ok;
    const [a1, b1] = (await Supervisor.whichChildren(rt, sup)).map((c) => c.pid as Pid);
    const restarted = new Promise((r) => rt.telemetry.once('restart', r));
    rt.exit(a1!, 'boom');
    await restarted;
    const [a2, b2] = (await Supervisor.whichChildren(rt, sup)).map((c) => c.pid as Pid);
    expect(a2).not.toBe(a1);
    expect(b2).toBe(b1);
    expect(await GenServer.call(rt, a2!, 'ping')).toBe('pong');
    await Supervisor.stop(rt, sup);
    expect(rt.isAlive(a2!)).toBe(false);
    expect(rt.isAlive(b2!)).toBe(false);
  });

  it('one_for_all restarts everyone; intensity exceeded stops the supervisor with shutdown', async () => {
    const rt = new Runtime({ logger: pino({ level: 'silent' }) });
    const started = await Supervisor.start(rt, { strategy: 'one_for_all', intensity: 1, children: [worker('a'), worker('b')] });
    const sup = (started as { ok: Pid }).ok;
    const [a1, b1] = (await Supervisor.whichChildren(rt, sup)).map((c) => c.pid as Pid);
    let restarted = new Promise((r) => rt.telemetry.once('restart', r));
    rt.exit(a1!, 'boom');
    await restarted;
    const [a2, b2] = (await Supervisor.whichChildren(rt, sup)).map((c) => c.pid as Pid);
    expect(a2).not.toBe(a1);
    expect(b2).not.toBe(b1);
    expect(rt.isAlive(b1!)).toBe(false);
    const down = new Promise<unknown>((r) => rt.telemetry.on('exit', (e) => e.pid === sup && r(e.reason)));
    rt.exit(b2!, 'boom');
    expect(await down).toBe('shutdown');
    expect(rt.isAlive(a2!)).toBe(false);
  });
});
