// More ports of OTP's lib/stdlib/test/supervisor_SUITE.erl (the 2025 suite), one test per case and named after
// it; the first 48 are in supervisor_suite.test.ts and the suite's helpers in supervisor_suite_kit.ts. Where our
// API answers in its own shape (a typed rejection for a bad spec, { ignore: true } for {ok, undefined}), the
// case checks that shape; the README's "Differences from OTP" lists each.

import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BadArgumentError, DuplicateChildError, InvalidChildSpecError } from '../src/errors.js';
import { GenServer } from '../src/gen_server.js';
import type { ChildSpec } from '../src/child_spec.js';
import type { Pid, ProcessContext } from '../src/process.js';
import { Exit, isShutdown, type ExitReason } from '../src/reasons.js';
import { Supervisor, validateSupervisorSpec } from '../src/supervisor.js';
import { nextEvent, okPid, silentRuntime, testProcess } from './helpers.js';
import {
  InitReply, OK, RestartLoop, announcing, counts, flags, isAnnounce, restarts, shutdown, startErrors, startLink,
  terminate, which, worker, type Announce,
} from './supervisor_suite_kit.js';

afterEach(() => {
  vi.useRealTimers();
});

/**
 * supervisor_4: a plain process (not a gen_server, which would stop with its parent's reason) that traps
 * exits and leaves with `reason` when told to stop or when its supervisor shuts it down.
 */
function exitingWith(reason: ExitReason): ChildSpec['start'] {
  return (parent) => {
    const receive = (message: unknown, self: ProcessContext): void => {
      if (message === 'stop' || message instanceof Exit) self.exit(reason);
    };
    return { ok: parent.runtime.spawn(receive, { link: parent.pid, trapExit: true }) };
  };
}

/** A child spec whose start returns `value` as it is ({ error: reason }, or a term that is no start result). */
const returning = (id: string, value: unknown): ChildSpec => ({ id, start: () => value as never });

/** Node's own collector, to check what a supervisor keeps alive (OTP checks the supervisor's heap size). */
function collector(): () => Promise<void> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  // A WeakRef's target stays alive until the current job ends: collect from a fresh macrotask.
  return () => new Promise((resolve) => setImmediate(() => (gc(), resolve())));
}

describe('supervisor_SUITE, the rest', () => {
  it('sup_start_ignore_temporary_child_start_child', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    await startLink(tp, { ...flags('one_for_one', 2, 3600), children: [] });
    expect(await Supervisor.startChild(rt, 'sup_test', worker('child1', { restart: 'temporary', shutdown: 1000 }, 'ignore'))).toEqual({ ignore: true });
    const cpid2 = okPid(await Supervisor.startChild(rt, 'sup_test', worker('child2', { restart: 'temporary', shutdown: 1000 })));
    expect(await which(rt, 'sup_test')).toEqual([['child2', cpid2, 'worker']]);
    expect(await counts(rt, 'sup_test')).toEqual([1, 1, 0, 1]);
  });

  it('sup_start_ignore_temporary_child_start_child_simple', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    await startLink(tp, { ...flags('simple_one_for_one', 2, 3600), children: [worker('child1', { restart: 'temporary', shutdown: 1000 }, 'ignore')] });
    expect(await Supervisor.startChild(rt, 'sup_test', [])).toEqual({ ignore: true });
    const cpid2 = okPid(await Supervisor.startChild(rt, 'sup_test', []));
    expect(await which(rt, 'sup_test')).toEqual([[undefined, cpid2, 'worker']]);
    expect(await counts(rt, 'sup_test')).toEqual([1, 1, 0, 1]);
  });

  it('sup_start_ignore_permanent_child_start_child_simple', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const sup = await startLink(tp, { ...flags('simple_one_for_one', 2, 3600), children: [worker('child1', { shutdown: 1000 }, 'ignore')] });
    expect(await Supervisor.startChild(rt, 'sup_test', [])).toEqual({ ignore: true });
    const cpid2 = okPid(await Supervisor.startChild(rt, 'sup_test', []));
    expect(await which(rt, 'sup_test')).toEqual([[undefined, cpid2, 'worker']]);
    expect(await counts(rt, 'sup_test')).toEqual([1, 1, 0, 1]);
    // Regression test in OTP: the supervisor terminates without error.
    const report = nextEvent(rt, 'shutdown_error', (e) => e.supervisor === sup);
    rt.exit(sup, 'shutdown', tp.pid);
    expect(await tp.exitOf(sup)).toBe('shutdown');
    expect(await Promise.race([report, tp.sync().then(() => 'no report')])).toBe('no report');
  });

  it('sup_start_restart_child_returns_error', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    await startLink(tp, { ...flags('one_for_one', 2, 3600), children: [worker('child1', { shutdown: 1000 }, 'error')] });
    expect(await Supervisor.terminateChild(rt, 'sup_test', 'child1')).toEqual({ ok: true });
    const restarted = await Supervisor.restartChild(rt, 'sup_test', 'child1');
    expect(restarted).toEqual({ error: expect.objectContaining({ message: 'function_clause' }) });
    expect(await which(rt, 'sup_test')).toEqual([['child1', undefined, 'worker']]);
  });

  // OTP wraps the reason as {error, {Reason, ChildInfo}}; we answer the start's { error } as it is (a listed
  // difference), and a term that is no start result as { error: { badReturn } }.
  it('sup_start_child_returns_error', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    await startLink(tp, { ...flags('one_for_one', 2, 3600), children: [] });
    expect(await Supervisor.startChild(rt, 'sup_test', returning('child1', { error: 'reason' }))).toEqual({ error: 'reason' });
    expect(await Supervisor.startChild(rt, 'sup_test', returning('child2', 'error_reason'))).toEqual({ error: { badReturn: 'error_reason' } });
    expect(await which(rt, 'sup_test')).toEqual([]);
  });

  it('sup_start_child_returns_error_simple', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const template: ChildSpec = { id: 'child1', shutdown: 1000, start: (_parent, value) => value as never };
    await startLink(tp, { ...flags('simple_one_for_one', 2, 3600), children: [template] });
    expect(await Supervisor.startChild(rt, 'sup_test', [{ error: 'reason' }])).toEqual({ error: 'reason' });
    expect(await Supervisor.startChild(rt, 'sup_test', ['error_reason'])).toEqual({ error: { badReturn: 'error_reason' } });
    expect(await which(rt, 'sup_test')).toEqual([]);
  });

  // The full spec, defaults filled in, can be read back (OTP's modules field has no counterpart).
  it('sup_start_map', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const child1 = worker('child1');
    const child2 = worker('child2', { shutdown: 'brutal_kill' });
    const child3 = worker('child3', { type: 'supervisor' });
    const sup = await startLink(tp, { children: [child1, child2, child3] });
    const base = { restart: 'permanent', type: 'worker', significant: false };
    expect(await Supervisor.getChildSpec(rt, sup, 'child1')).toEqual({ ok: { ...base, id: 'child1', start: child1.start, shutdown: 5000 } });
    expect(await Supervisor.getChildSpec(rt, sup, 'child2')).toEqual({ ok: { ...base, id: 'child2', start: child2.start, shutdown: 'brutal_kill' } });
    expect(await Supervisor.getChildSpec(rt, sup, 'child3')).toEqual({ ok: { ...base, id: 'child3', start: child3.start, shutdown: 'infinity', type: 'supervisor' } });
    expect(await Supervisor.getChildSpec(rt, sup, 'child4')).toEqual({ error: 'not_found' });
    expect(await shutdown(rt, tp, sup)).toBe('shutdown');
  });

  it('sup_start_map_simple', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const template: ChildSpec = { id: 'undefined', restart: 'temporary', start: worker('child').start };
    const sup = await startLink(tp, { strategy: 'simple_one_for_one', children: [template] });
    const pids = [okPid(await Supervisor.startChild(rt, sup, [])), okPid(await Supervisor.startChild(rt, sup, [])), okPid(await Supervisor.startChild(rt, sup, []))];
    const spec = { ...template, type: 'worker', shutdown: 5000, significant: false };
    for (const pid of pids) expect(await Supervisor.getChildSpec(rt, sup, pid)).toEqual({ ok: spec });
    expect(await Supervisor.getChildSpec(rt, sup, tp.pid)).toEqual({ error: 'not_found' });
    expect(await shutdown(rt, tp, sup)).toBe('shutdown');
  });

  // OTP answers {error, {start_spec, missing_id}} and so on; we reject with InvalidChildSpecError naming the
  // field. Unknown fields are ignored in both.
  it('sup_start_map_faulty_specs', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const start = worker('x').start;
    await expect(startLink(tp, { children: [{ start } as unknown as ChildSpec] })).rejects.toThrow(/id must be a non-empty string/);
    await expect(startLink(tp, { children: [{ id: 'child2' } as unknown as ChildSpec] })).rejects.toThrow(/start must be a function/);
    const sup = await startLink(tp, { children: [{ id: 'child3', start, sillyFlag: true } as ChildSpec] });
    expect(await shutdown(rt, tp, sup)).toBe('shutdown');
    await expect(startLink(tp, { children: ['child4' as unknown as ChildSpec] })).rejects.toBeInstanceOf(InvalidChildSpecError);
  });

  it('sup_stop_timeout_dynamic', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const sup = await startLink(tp, { ...flags('simple_one_for_one', 2, 3600), children: [worker('child', { restart: 'temporary', shutdown: 1000 })] });
    const cpid1 = okPid(await Supervisor.startChild(rt, sup, []));
    tp.self.link(cpid1);
    const cpid2 = okPid(await Supervisor.startChild(rt, sup, []));
    tp.self.link(cpid2);
    rt.send(cpid2, 'sleep');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    rt.exit(sup, 'shutdown', tp.pid);
    // cpid1 stops at once; cpid2 is deaf until the 1000 ms shutdown timeout kills it.
    expect(await tp.exitOf(cpid1)).toBe('shutdown');
    await vi.advanceTimersByTimeAsync(1000);
    expect(await tp.exitOf(sup)).toBe('shutdown');
    expect(await tp.exitOf(cpid2)).toBe('killed');
  });

  it('sup_stop_brutal_kill_dynamic', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const sup = await startLink(tp, { ...flags('simple_one_for_one', 2, 3600), children: [{ id: 'child', restart: 'temporary', shutdown: 'brutal_kill', start: exitingWith('normal') }] });
    const cpids: Pid[] = [];
    for (let i = 0; i < 10; i++) {
      const cpid = okPid(await Supervisor.startChild(rt, sup, []));
      tp.self.link(cpid);
      cpids.push(cpid);
    }
    rt.exit(sup, 'shutdown', tp.pid);
    expect(await tp.exitOf(sup)).toBe('shutdown');
    for (const cpid of cpids) expect(await tp.exitOf(cpid)).toBe('killed');
  });

  // Children that exit by themselves, for any reason, while the supervisor shuts down do not stop the
  // shutdown. OTP lets them exit during a 200 ms sleep while child_z takes 1000 ms to stop; here child_z holds
  // the shutdown until the test has stopped them all.
  it('sup_stop_race', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const sup = await startLink(tp, { ...flags('one_for_one', 2, 3600), children: [] });
    const cpidA = okPid(await Supervisor.startChild(rt, sup, worker('child_a', { restart: 'temporary', shutdown: 1000 })));
    tp.self.link(cpidA);
    const reasons: ExitReason[] = ['normal', 'shutdown', { shutdown: 'test' }, 'other'];
    const cpids = new Map<Pid, ExitReason>();
    for (const restart of ['temporary', 'transient', 'permanent'] as const) {
      for (const reason of reasons) {
        const id = `child_${cpids.size}`;
        const cpid = okPid(await Supervisor.startChild(rt, sup, { id, restart, shutdown: 1000, start: exitingWith(reason) }));
        tp.self.link(cpid);
        cpids.set(cpid, reason);
      }
    }
    // supervisor_2: stops slowly. It tells the test when its shutdown begins and exits once the test says go.
    const slowStop = (message: unknown, self: ProcessContext): void => {
      if (message instanceof Exit && isShutdown(message.reason)) self.send(tp.pid, { announce: 'child_z', pid: self.pid } satisfies Announce);
      if (message === 'go') self.exit('shutdown');
    };
    const cpidZ = okPid(
      await Supervisor.startChild(rt, sup, { id: 'child_z', restart: 'temporary', shutdown: 2000, start: (parent) => ({ ok: rt.spawn(slowStop, { link: parent.pid, trapExit: true }) }) }),
    );
    tp.self.link(cpidZ);

    rt.exit(sup, 'shutdown', tp.pid);
    await tp.receive((m) => isAnnounce(m, 'child_z'));
    for (const cpid of cpids.keys()) rt.send(cpid, 'stop');
    for (const [cpid, reason] of cpids) expect(await tp.exitOf(cpid)).toEqual(reason);
    rt.send(cpidZ, 'go');
    expect(await tp.exitOf(sup)).toBe('shutdown');
    expect(await tp.exitOf(cpidZ)).toBe('shutdown');
    expect(await tp.exitOf(cpidA)).toBe('shutdown');
  });

  it('sup_stop_non_shutdown_exit_dynamic', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    for (const restart of ['temporary', 'transient', 'permanent'] as const) {
      const template: ChildSpec = { id: 'child', restart, shutdown: 5000, start: (parent, reason) => exitingWith(reason as ExitReason)(parent) };
      const sup = await startLink(tp, { ...flags('simple_one_for_one', 2, 3600), children: [template] });
      const cpids = new Map<Pid, ExitReason>();
      for (const reason of ['normal', 'shutdown', { shutdown: 'test' }, 'other'] as ExitReason[]) {
        const cpid = okPid(await Supervisor.startChild(rt, sup, [reason]));
        tp.self.link(cpid);
        cpids.set(cpid, reason);
      }
      rt.exit(sup, 'shutdown', tp.pid);
      expect(await tp.exitOf(sup)).toBe('shutdown');
      for (const [cpid, reason] of cpids) expect(await tp.exitOf(cpid)).toEqual(reason);
    }
  });

  // A start that returns { ok, info } keeps the info in start_child's and restart_child's answers.
  it('extra_return', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const child = worker('child1', { shutdown: 1000 }, 'extra');
    const sup = await startLink(tp, { ...flags('one_for_one', 2, 3600), children: [child] });
    const [[, cpid]] = (await which(rt, 'sup_test')) as [[string, Pid, string]];
    tp.self.link(cpid);
    expect(await Supervisor.terminateChild(rt, 'sup_test', 'hej')).toEqual({ error: 'not_found' });
    expect(await Supervisor.deleteChild(rt, 'sup_test', 'hej')).toEqual({ error: 'not_found' });
    expect(await Supervisor.restartChild(rt, 'sup_test', 'hej')).toEqual({ error: 'not_found' });
    expect(await Supervisor.deleteChild(rt, 'sup_test', 'child1')).toEqual({ error: 'running' });
    expect(await Supervisor.restartChild(rt, 'sup_test', 'child1')).toEqual({ error: 'running' });
    expect(await which(rt, 'sup_test')).toEqual([['child1', cpid, 'worker']]);
    expect(await counts(rt, 'sup_test')).toEqual([1, 1, 0, 1]);

    expect(await Supervisor.terminateChild(rt, 'sup_test', 'child1')).toEqual({ ok: true });
    expect(await tp.exitOf(cpid)).toBe('shutdown');
    expect(await which(rt, 'sup_test')).toEqual([['child1', undefined, 'worker']]);
    expect(await counts(rt, 'sup_test')).toEqual([1, 0, 0, 1]);

    const restarted = await Supervisor.restartChild(rt, 'sup_test', 'child1');
    expect(restarted).toEqual({ ok: expect.anything(), info: 'extra_info' });
    expect(await which(rt, 'sup_test')).toEqual([['child1', okPid(restarted), 'worker']]);
    expect(await counts(rt, 'sup_test')).toEqual([1, 1, 0, 1]);

    expect(await Supervisor.terminateChild(rt, 'sup_test', 'child1')).toEqual({ ok: true });
    expect(await Supervisor.terminateChild(rt, 'sup_test', 'child1')).toEqual({ ok: true });
    expect(await Supervisor.deleteChild(rt, 'sup_test', 'child1')).toEqual({ ok: true });
    expect(await Supervisor.restartChild(rt, 'sup_test', 'child1')).toEqual({ error: 'not_found' });
    expect(await which(rt, 'sup_test')).toEqual([]);
    expect(await counts(rt, 'sup_test')).toEqual([0, 0, 0, 0]);

    const started = await Supervisor.startChild(rt, 'sup_test', child);
    expect(started).toEqual({ ok: expect.anything(), info: 'extra_info' });
    const cpid3 = okPid(started);
    expect(await which(rt, 'sup_test')).toEqual([['child1', cpid3, 'worker']]);
    expect(await counts(rt, 'sup_test')).toEqual([1, 1, 0, 1]);

    // It is restarted automatically too.
    const restart = restarts(rt, sup, 1);
    await terminate(rt, tp, sup, cpid3, 'child1', 'abnormal');
    await restart;
    const [[, cpid4]] = (await which(rt, 'sup_test')) as [[string, Pid, string]];
    expect(typeof cpid4 === 'object' && cpid4 !== cpid3).toBe(true);
    expect(await counts(rt, 'sup_test')).toEqual([1, 1, 0, 1]);
  });

  // terminate_child, restart_child and delete_child by id are refused by a simple_one_for_one supervisor.
  it('child_adm_simple', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    await startLink(tp, { ...flags('simple_one_for_one', 2, 3600), children: [worker('child', { shutdown: 1000 })] });
    expect(await which(rt, 'sup_test')).toEqual([]);
    expect(await counts(rt, 'sup_test')).toEqual([1, 0, 0, 0]);

    await expect(Supervisor.startChild(rt, 'foo', [])).rejects.toMatchObject({ code: 'DSPEX_NOPROC' });
    const cpid1 = okPid(await Supervisor.startChild(rt, 'sup_test', []));
    expect(await which(rt, 'sup_test')).toEqual([[undefined, cpid1, 'worker']]);
    expect(await counts(rt, 'sup_test')).toEqual([1, 1, 0, 1]);
    const cpid2 = okPid(await Supervisor.startChild(rt, 'sup_test', []));
    const children = await which(rt, 'sup_test');
    expect(children).toHaveLength(2);
    expect(children).toContainEqual([undefined, cpid1, 'worker']);
    expect(children).toContainEqual([undefined, cpid2, 'worker']);
    expect(await counts(rt, 'sup_test')).toEqual([1, 2, 0, 2]);

    expect(await Supervisor.terminateChild(rt, 'sup_test', 'child1')).toEqual({ error: 'simple_one_for_one' });
    expect(await counts(rt, 'sup_test')).toEqual([1, 2, 0, 2]);
    expect(await Supervisor.terminateChild(rt, 'sup_test', cpid1)).toEqual({ ok: true });
    expect(await which(rt, 'sup_test')).toHaveLength(1);
    expect(await counts(rt, 'sup_test')).toEqual([1, 1, 0, 1]);
    expect(rt.isAlive(cpid1)).toBe(false);
    // Terminating a process that is gone is fine.
    expect(await Supervisor.terminateChild(rt, 'sup_test', cpid1)).toEqual({ ok: true });
    expect(await counts(rt, 'sup_test')).toEqual([1, 1, 0, 1]);
    // A live pid that is not a child is not.
    const noChild = rt.spawn(() => new Promise<void>(() => {}), { link: tp.pid });
    expect(await Supervisor.terminateChild(rt, 'sup_test', noChild)).toEqual({ error: 'not_found' });
    expect(rt.isAlive(noChild)).toBe(true);

    expect(await Supervisor.restartChild(rt, 'sup_test', 'child1')).toEqual({ error: 'simple_one_for_one' });
    expect(await Supervisor.deleteChild(rt, 'sup_test', 'child1')).toEqual({ error: 'simple_one_for_one' });
  });

  // OTP answers {error, {invalid_restart_type, prmanent}} and so on; we reject with InvalidChildSpecError
  // naming the field. OTP's check_childspecs/1 is validateSupervisorSpec here.
  it('child_specs', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const sup = await startLink(tp, { ...flags('one_for_one', 2, 3600), children: [] });
    const start = worker('x').start;
    await expect(Supervisor.startChild(rt, 'sup_test', 'hej' as unknown as ChildSpec)).rejects.toBeInstanceOf(InvalidChildSpecError);
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ id: 'child', start: 'mfa' }, /start must be a function/],
      [{ id: 'child', start, restart: 'prmanent' }, /restart must be permanent, transient or temporary, not prmanent/],
      [{ id: 'child', start, shutdown: -10 }, /shutdown must be .* not -10/],
      [{ id: 'child', start, type: 'wrker' }, /type must be worker or supervisor, not wrker/],
    ];
    for (const [spec, message] of bad) {
      await expect(Supervisor.startChild(rt, 'sup_test', spec as unknown as ChildSpec)).rejects.toThrow(message);
      expect(() => validateSupervisorSpec({ children: [spec as unknown as ChildSpec] })).toThrow(message);
    }
    const good: ChildSpec[] = [
      { id: 'child', start, shutdown: 'infinity', type: 'supervisor' },
      { id: 'child', start, shutdown: 1000, type: 'supervisor' },
      { id: 'child', start, restart: 'temporary', shutdown: 1000 },
      { id: 'child', start, restart: 'transient', shutdown: 1000 },
      { id: 'child', start, shutdown: 'infinity' },
    ];
    for (const spec of good) expect(() => validateSupervisorSpec({ children: [spec] })).not.toThrow();
    expect(() => validateSupervisorSpec({ children: [good[0]!, good[1]!] })).toThrow(DuplicateChildError);
    expect(await shutdown(rt, tp, sup)).toBe('shutdown');

    // Faulty child specs in a supervisor's start.
    await expect(startLink(tp, { ...flags('one_for_one', 2, 3600), children: [bad[0]![0] as unknown as ChildSpec] })).rejects.toThrow(/start must be a function/);
    await expect(startLink(tp, { ...flags('simple_one_for_one', 2, 3600), children: [bad[1]![0] as unknown as ChildSpec] })).rejects.toThrow(/prmanent/);
    // simple_one_for_one needs exactly one child spec.
    await expect(startLink(tp, { ...flags('simple_one_for_one', 2, 3600), children: [] })).rejects.toThrow(/exactly one child spec/);
    await expect(startLink(tp, { ...flags('simple_one_for_one', 2, 3600), children: [good[0]!, good[1]!] })).rejects.toThrow(/exactly one child spec/);
  });

  // OTP answers {error, {supervisor_data, {invalid_strategy, _}}} and so on; we reject with BadArgumentError.
  it('sup_flags', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const invalid = async (spec: Record<string, unknown>, message: RegExp): Promise<void> => {
      const attempt = startLink(tp, { children: [], ...spec });
      await expect(attempt).rejects.toBeInstanceOf(BadArgumentError);
      await expect(attempt).rejects.toThrow(message);
    };
    await invalid({ strategy: 'none_for_one' }, /unknown supervisor strategy none_for_one/);
    await invalid({ intensity: Infinity }, /intensity must be a non-negative integer/);
    await invalid({ period: 0 }, /invalid_period/);
    await invalid({ period: Infinity }, /invalid_period/);
    // Flags that are not an object with children.
    await expect(startLink(tp, ['one_for_one', 2] as never)).rejects.toBeInstanceOf(BadArgumentError);
    // Unexpected flags are ignored.
    const sup = await startLink(tp, { children: [], sillyFlag: true } as never);
    expect(await shutdown(rt, tp, sup)).toBe('shutdown');
  });

  it('count_children_supervisor', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const sup = await startLink(tp, { ...flags('simple_one_for_one', 2, 3600), children: [worker('child', { restart: 'temporary', shutdown: 'infinity', type: 'supervisor' })] });
    const startMany = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) okPid(await Supervisor.startChild(rt, 'sup_test', []));
    };
    await startMany(1000);
    const children = await which(rt, 'sup_test');
    const childCount = await counts(rt, 'sup_test');
    await startMany(1000);
    const childCount2 = await counts(rt, 'sup_test');
    const children2 = await which(rt, 'sup_test');
    expect(children).toHaveLength(1000);
    expect(childCount).toEqual([1, 1000, 1000, 0]);
    expect(children2).toHaveLength(2000);
    expect(childCount2).toEqual([1, 2000, 2000, 0]);
    expect(await which(rt, 'sup_test')).toEqual(children2);
    expect(await counts(rt, 'sup_test')).toEqual(childCount2);
    for (const [, pid, type] of children2) {
      expect(type).toBe('supervisor');
      await terminate(rt, tp, sup, pid as Pid, 'child', 'kill');
    }
    expect(await counts(rt, 'sup_test')).toEqual([1, 0, 0, 0]);
  });

  // A simple_one_for_one child whose restart returns ignore is gone from the supervisor.
  it('simple_one_for_one_restart_ignore', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    for (const restart of ['transient', 'permanent'] as const) {
      const sup = await startLink(tp, { ...flags('simple_one_for_one', 10, 3600), children: [{ ...announcing('child1', tp.pid), restart }] });
      const starting = Supervisor.startChild(rt, sup, []);
      const child1 = (await tp.receive<Announce>((m) => isAnnounce(m, 'child1'))).pid;
      rt.send(child1, OK);
      expect(okPid(await starting)).toBe(child1);
      expect(await which(rt, sup)).toEqual([[undefined, child1, 'worker']]);

      rt.exit(child1, 'kill');
      const child2 = (await tp.receive<Announce>((m) => isAnnounce(m, 'child1'))).pid;
      rt.send(child2, OK);
      expect(await which(rt, sup)).toEqual([[undefined, child2, 'worker']]);

      rt.exit(child2, 'kill');
      const child3 = (await tp.receive<Announce>((m) => isAnnounce(m, 'child1'))).pid;
      rt.send(child3, new InitReply({ ignore: true }));
      expect(await which(rt, sup)).toEqual([]);
      expect(await shutdown(rt, tp, sup)).toBe('shutdown');
    }
  });

  // OTP-16804: a simple_one_for_one supervisor keeps no start arguments of temporary children. OTP checks the
  // supervisor's heap after a GC; here a WeakRef to the argument must be cleared by a collection.
  it('simple_one_for_one_corruption', async () => {
    const collect = collector();
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const template: ChildSpec = { id: 'child', restart: 'temporary', shutdown: 1000, start: worker('child').start };
    const sup = await startLink(tp, { ...flags('simple_one_for_one', 2, 3600), children: [template] });
    const cpid1 = okPid(await Supervisor.startChild(rt, 'sup_test', []));
    await terminate(rt, tp, sup, cpid1, 'child1', 'abnormal');

    let bigData: string[] | undefined = Array.from({ length: 50_000 }, () => 'x');
    const held = new WeakRef(bigData);
    const cpid2 = okPid(await Supervisor.startChild(rt, 'sup_test', [bigData]));
    bigData = undefined;
    await collect();
    expect(held.deref()).toBeUndefined();
    expect(rt.isAlive(cpid2)).toBe(true);
  });

  // The same check for each restart type: only the temporary children's arguments may be collected. (OTP also
  // runs it for the static strategies, whose child specs carry the arguments; ours carry a start function.)
  it('do_not_save_start_parameters_for_temporary_children', async () => {
    const collect = collector();
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const startWithLargeList = async (sup: Pid): Promise<WeakRef<string[]>> => {
      const largeList = Array.from({ length: 10 }, () => 'Potentially large');
      okPid(await Supervisor.startChild(rt, sup, [largeList]));
      return new WeakRef(largeList);
    };
    for (const restart of ['permanent', 'transient', 'temporary'] as const) {
      const sup = await startLink(tp, { ...flags('simple_one_for_one', 2, 3600), children: [{ ...worker('child'), restart, shutdown: 1000 }] }, null);
      const refs: Array<WeakRef<string[]>> = [];
      for (let i = 0; i < 100; i++) refs.push(await startWithLargeList(sup));
      await collect();
      const kept = refs.filter((r) => r.deref() !== undefined).length;
      expect(kept).toBe(restart === 'temporary' ? 0 : 100);
      expect(await shutdown(rt, tp, sup)).toBe('shutdown');
    }
  });

  // OTP-9242: terminating many temporary simple_one_for_one children scales linearly (10x the children may take
  // at most 50x the time, as in OTP).
  it('simple_one_for_one_scale_many_temporary_children', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const template: ChildSpec = { id: 'child', restart: 'temporary', shutdown: 1000, start: (parent) => ({ ok: parent.runtime.spawn(() => new Promise<void>(() => {}), { link: parent.pid }) }) };
    await startLink(tp, { ...flags('simple_one_for_one', 2, 3600), children: [template] });
    const timeTerminations = async (n: number): Promise<number> => {
      const pids: Pid[] = [];
      for (let i = 0; i < n; i++) pids.push(okPid(await Supervisor.startChild(rt, 'sup_test', [])));
      const t0 = performance.now();
      for (const pid of pids) expect(await Supervisor.terminateChild(rt, 'sup_test', pid)).toEqual({ ok: true });
      return performance.now() - t0;
    };
    const t1 = await timeTerminations(1000);
    const t2 = await timeTerminations(10_000);
    expect(t2 / t1).toBeLessThan(50);
  });

  // OTP-9212: restarts of a supervisor and a server registered under names (:global in OTP; names are
  // node-wide here, which is :global on one node).
  it('simple_global_supervisor', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const server: ChildSpec = {
      id: 'child',
      shutdown: 2000,
      start: (parent) =>
        GenServer.startLink(parent, { init: () => ({ ok: null }), handleInfo: (m: unknown, s: null) => (m === 'fail' ? Promise.reject(new Error('normal')) : { noreply: true as const, state: s }) }, undefined, { name: 'server' }),
    };
    const middle: ChildSpec = { id: 'middle', type: 'supervisor', shutdown: 2000, start: (parent) => Supervisor.startLink(parent, { ...flags('one_for_all', 3, 60), children: [server] }, { name: 'sup2' }) };
    const start9212 = async (): Promise<{ top: Pid; sup2: Pid; server: Pid }> => {
      const top = await startLink(tp, { ...flags('one_for_all', 3, 60), children: [middle] });
      return { top, sup2: rt.whereis('sup2')!, server: rt.whereis('server')! };
    };
    const stop9212 = async (top: Pid): Promise<void> => {
      const gone = [tp.down(rt.whereis('sup2')!), tp.down(rt.whereis('server')!)];
      rt.exit(top, 'kill');
      await Promise.all(gone);
      expect(rt.whereis('sup2')).toBeUndefined();
      expect(rt.whereis('server')).toBeUndefined();
      expect(await tp.exitOf(top)).toBe('killed');
    };
    const newServer = (old: Pid): void => {
      const now = rt.whereis('server');
      expect(now !== undefined && now !== old).toBe(true);
    };

    // kill_supervisor: killing a supervisor is not really supported, but it is restarted.
    let t = await start9212();
    let restart = restarts(rt, t.top, 1);
    rt.exit(t.sup2, 'kill');
    await restart;
    expect(rt.whereis('sup2') !== undefined && rt.whereis('sup2') !== t.sup2).toBe(true);
    newServer(t.server);
    await stop9212(t.top);

    // kill_worker
    t = await start9212();
    restart = restarts(rt, t.sup2, 1);
    rt.exit(t.server, 'kill');
    await restart;
    newServer(t.server);
    await stop9212(t.top);

    // exit_worker: erlang:error(normal) is not a normal exit.
    t = await start9212();
    restart = restarts(rt, t.sup2, 1);
    rt.send(t.server, 'fail');
    await restart;
    newServer(t.server);
    await stop9212(t.top);

    // restart_worker
    t = await start9212();
    expect(await Supervisor.terminateChild(rt, 'sup2', 'child')).toEqual({ ok: true });
    okPid(await Supervisor.restartChild(rt, 'sup2', 'child'));
    newServer(t.server);
    await stop9212(t.top);
  });

  it('hanging_restart_loop_rest_for_one', async () => {
    let now = 0;
    const rt = silentRuntime({ clock: () => now });
    const tp = await testProcess(rt);
    const loop = new RestartLoop((ms) => (now += ms));
    const sup = await startLink(tp, { ...flags('rest_for_one', 8, 10), children: [] });
    const child1 = worker('child1', { shutdown: 'brutal_kill' });
    const child2 = loop.spec('child2');
    const child3 = worker('child3', { shutdown: 'brutal_kill' });
    const cpid1 = okPid(await Supervisor.startChild(rt, 'sup_test', child1));
    const cpid2 = okPid(await Supervisor.startChild(rt, 'sup_test', child2));
    tp.self.link(cpid2);
    okPid(await Supervisor.startChild(rt, 'sup_test', child3));

    loop.failStart = true;
    let looping = startErrors(rt, sup, 1);
    GenServer.cast(rt, cpid2, 'restart');
    await looping;

    expect(await Supervisor.startChild(rt, 'sup_test', child2)).toEqual({ error: 'already_present' });
    expect(await Supervisor.restartChild(rt, 'sup_test', 'child2')).toEqual({ error: 'restarting' });
    expect(await Supervisor.deleteChild(rt, 'sup_test', 'child2')).toEqual({ error: 'restarting' });
    // OTP lists newest first: [child3 undefined, child2 restarting, child1 CPid1].
    expect(await which(rt, 'sup_test')).toEqual([
      ['child1', cpid1, 'worker'],
      ['child2', 'restarting', 'worker'],
      ['child3', undefined, 'worker'],
    ]);
    expect(await counts(rt, 'sup_test')).toEqual([3, 1, 0, 3]);

    expect(await Supervisor.terminateChild(rt, 'sup_test', 'child2')).toEqual({ ok: true });
    expect(await tp.exitOf(cpid2)).toBe('error');
    expect(await which(rt, 'sup_test')).toEqual([
      ['child1', cpid1, 'worker'],
      ['child2', undefined, 'worker'],
      ['child3', undefined, 'worker'],
    ]);

    loop.failStart = false;
    const cpid22 = okPid(await Supervisor.restartChild(rt, 'sup_test', 'child2'));
    tp.self.link(cpid22);
    loop.failStart = true;
    looping = startErrors(rt, sup, 1);
    GenServer.cast(rt, cpid22, 'restart');
    await looping;

    // Terminating the supervisor does not hang in the restart loop.
    expect(await shutdown(rt, tp, sup)).toBe('shutdown');
    expect(await tp.exitOf(cpid22)).toBe('error');
    expect(rt.whereis('sup_test')).toBeUndefined();
  });

  it('hanging_restart_loop_simple', async () => {
    let now = 0;
    const rt = silentRuntime({ clock: () => now });
    const tp = await testProcess(rt);
    const loop = new RestartLoop((ms) => (now += ms));
    const sup = await startLink(tp, { ...flags('simple_one_for_one', 8, 10), children: [loop.spec('child1')] });
    const cpid1 = okPid(await Supervisor.startChild(rt, 'sup_test', []));
    tp.self.link(cpid1);

    loop.failStart = true;
    let looping = startErrors(rt, sup, 1);
    GenServer.cast(rt, cpid1, 'restart');
    await looping;

    expect(await Supervisor.restartChild(rt, 'sup_test', 'child1')).toEqual({ error: 'simple_one_for_one' });
    expect(await Supervisor.deleteChild(rt, 'sup_test', 'child1')).toEqual({ error: 'simple_one_for_one' });
    expect(await which(rt, 'sup_test')).toEqual([[undefined, 'restarting', 'worker']]);
    expect(await counts(rt, 'sup_test')).toEqual([1, 0, 0, 1]);

    expect(await Supervisor.terminateChild(rt, 'sup_test', cpid1)).toEqual({ ok: true });
    expect(await tp.exitOf(cpid1)).toBe('error');
    expect(await which(rt, 'sup_test')).toEqual([]);

    loop.failStart = false;
    const cpid2 = okPid(await Supervisor.startChild(rt, 'sup_test', []));
    tp.self.link(cpid2);
    loop.failStart = true;
    looping = startErrors(rt, sup, 1);
    GenServer.cast(rt, cpid2, 'restart');
    await looping;

    expect(await shutdown(rt, tp, sup)).toBe('shutdown');
    expect(await tp.exitOf(cpid2)).toBe('error');
    expect(rt.whereis('sup_test')).toBeUndefined();
  });
});
