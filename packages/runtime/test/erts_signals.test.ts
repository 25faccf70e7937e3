// Ports from erts/emulator/test: process_SUITE (exit signals) and monitor_SUITE (monitors, demonitor),
// under their case names, plus OTP's documented link/1 to a process that does not exist.
import { describe, expect, it } from 'vitest';
import { Down, NoProcError, type ProcessContext } from '../src/index.js';
import { asProcess, type Runtime } from '../src/runtime.js';
import { exitReasonOf, silentRuntime, testProcess } from './helpers.js';

/** A process that only waits; its context for acting as it. */
function idle(rt: Runtime, trapExit = false): Promise<ProcessContext> {
  return new Promise((resolve) => rt.spawn({ init: (self: ProcessContext) => resolve(self), receive() {} }, { trapExit }));
}

describe('process_SUITE', () => {
  it('t_exit_2_other', async () => {
    const rt = silentRuntime();
    const victim = await idle(rt);
    const reason = exitReasonOf(rt, victim.pid);
    rt.exit(victim.pid, 'other_reason');
    expect(await reason).toBe('other_reason');
  });

  it('t_exit_2_other_normal', async () => {
    const rt = silentRuntime();
    const victim = await idle(rt);
    rt.exit(victim.pid, 'normal');
    expect(rt.isAlive(victim.pid)).toBe(true);
    // A trapping process gets the normal signal as a message instead.
    const me = await testProcess(rt);
    const sender = await idle(rt);
    rt.exit(me.pid, 'normal', sender.pid);
    expect(await me.exitOf(sender.pid)).toBe('normal');
  });

  it('self_exit', async () => {
    const rt = silentRuntime();
    const victim = await idle(rt);
    const reason = exitReasonOf(rt, victim.pid);
    rt.exit(victim.pid, 'normal', victim.pid);
    expect(await reason).toBe('normal');
  });

  it('normal_suicide_exit and abnormal_suicide_exit', async () => {
    const rt = silentRuntime();
    for (const why of ['normal', 'bad']) {
      const victim = await idle(rt);
      const reason = exitReasonOf(rt, victim.pid);
      victim.exit(why);
      expect(await reason).toBe(why);
    }
  });

  it('kill cannot be trapped: a linked process sees reason killed', async () => {
    const rt = silentRuntime();
    const me = await testProcess(rt);
    const trapping = await idle(rt, true);
    me.self.link(trapping.pid);
    rt.exit(trapping.pid, 'kill');
    expect(await me.exitOf(trapping.pid)).toBe('killed');
  });
});

describe('link/1 to a process that does not exist (erlang:link/1 noproc)', () => {
  it('raises NoProcError in a process that does not trap exits, which can catch it and live on', async () => {
    const rt = silentRuntime();
    const dead = await idle(rt);
    dead.exit('normal');
    const me = await testProcess(rt, { trapExit: false });
    expect(() => me.self.link(dead.pid)).toThrow(NoProcError);
    expect(rt.isAlive(me.pid)).toBe(true);
  });

  it('gives a trapping process an EXIT with reason noproc', async () => {
    const rt = silentRuntime();
    const dead = await idle(rt);
    dead.exit('normal');
    const me = await testProcess(rt);
    me.self.link(dead.pid);
    expect(await me.exitOf(dead.pid)).toBe('noproc');
  });

  it('an uncaught noproc from link crashes the process with it', async () => {
    const rt = silentRuntime();
    const dead = await idle(rt);
    dead.exit('normal');
    const pid = rt.spawn({ init: (self: ProcessContext) => self.link(dead.pid), receive() {} });
    const reason = await exitReasonOf(rt, pid);
    expect(reason).toBeInstanceOf(NoProcError);
  });
});

describe('monitor_SUITE', () => {
  it('mon_1: a monitor gets DOWN with the exit reason', async () => {
    const rt = silentRuntime();
    const me = await testProcess(rt);
    const target = await idle(rt);
    const down = me.down(target.pid);
    target.exit('gone');
    expect(await down).toBe('gone');
  });

  it('demon_1: demonitor of an active monitor returns true and no DOWN comes', async () => {
    const rt = silentRuntime();
    const me = await testProcess(rt);
    const target = await idle(rt);
    const ref = me.self.monitor(target.pid);
    expect(me.self.demonitor(ref)).toBe(true);
    target.exit('gone');
    await me.sync();
    expect(me.held().filter((m) => m instanceof Down)).toEqual([]);
  });

  it('demon_2: demonitor after the DOWN was sent still returns true; info says false; flush drops it', async () => {
    const rt = silentRuntime();
    const me = await testProcess(rt);
    const target = await idle(rt);
    const ref = me.self.monitor(target.pid);
    target.exit('gone');
    await me.sync();
    expect(me.self.demonitor(ref)).toBe(true);
    expect(me.self.demonitor(ref, { info: true })).toBe(false);
    const second = await idle(rt);
    const ref2 = me.self.monitor(second.pid);
    expect(me.self.demonitor(ref2, { info: true })).toBe(true);
  });

  it('demon_e_1: demonitor of an unknown ref returns true', async () => {
    const rt = silentRuntime();
    const me = await testProcess(rt);
    expect(me.self.demonitor(rt.makeRef())).toBe(true);
    expect(me.self.demonitor(rt.makeRef(), { info: true })).toBe(false);
  });

  it('mon_e_1: monitoring a dead pid gives DOWN noproc', async () => {
    const rt = silentRuntime();
    const me = await testProcess(rt);
    const target = await idle(rt);
    target.exit('normal');
    expect(await me.down(target.pid)).toBe('noproc');
    expect(asProcess(me.pid).alive).toBe(true);
  });
});
