// The supervisor_SUITE kit: the suite's helper modules (supervisor_1, supervisor_3, supervisor_deadlock) and
// its helper functions, shared by test/supervisor_suite.test.ts and test/otp_supervisor_suite_more.test.ts.

import { expect, vi } from 'vitest';
import { GenServer, type GenServerBehavior, type StartResult } from '../src/gen_server.js';
import type { ChildSpec } from '../src/child_spec.js';
import type { Pid, ProcessContext } from '../src/process.js';
import { Exit, isShutdown, type ExitReason } from '../src/reasons.js';
import type { Runtime } from '../src/runtime.js';
import { Supervisor, type Strategy, type SupervisorInit, type SupervisorSpec } from '../src/supervisor.js';
import { nextEvent, okPid, type TestProcess } from './helpers.js';

// --- supervisor_1: the child used by most cases ---

/** Traps exits; 'die' stops it with 'died', 'stop' with 'normal', 'sleep' makes it deaf to everything after. */
export const Worker: GenServerBehavior<null, void, unknown, unknown, unknown> = {
  init: () => ({ ok: null }),
  handleCall: (request, _from, state) => ({ reply: request, state }),
  handleInfo: (info, state) => {
    if (info === 'die') return { stop: 'died', state };
    if (info === 'stop') return { stop: 'normal', state };
    if (info === 'sleep') return new Promise<never>(() => {});
    if (info instanceof Exit && isShutdown(info.reason)) return { stop: info.reason, state };
    return { noreply: true, state };
  },
};

/**
 * How supervisor_1:start_child behaves. 'ignore': ignore the first time in a supervisor, start after;
 * 'error': start the first time in a supervisor, fail every time after (OTP keeps both flags in the
 * supervisor's process dictionary, so they are per supervisor here too); 'extra': {ok, Pid, Info}.
 */
export type Mode = 'normal' | 'ignore' | 'error' | 'extra';
export const dictionary = new WeakMap<Pid, Set<Mode>>();
export function firstTimeIn(sup: Pid, mode: Mode): boolean {
  let seen = dictionary.get(sup);
  if (seen === undefined) dictionary.set(sup, (seen = new Set()));
  if (seen.has(mode)) return false;
  seen.add(mode);
  return true;
}

export async function startWorker(parent: ProcessContext, mode: Mode): Promise<StartResult> {
  if (mode === 'ignore' && firstTimeIn(parent.pid, 'ignore')) return { ignore: true };
  if (mode === 'error' && !firstTimeIn(parent.pid, 'error')) {
    return GenServer.startLink(parent, { init: () => { throw new Error('function_clause'); } }, undefined);
  }
  const result = await GenServer.startLink(parent, Worker, undefined, { trapExit: true });
  return mode === 'extra' && 'ok' in result ? { ok: result.ok, info: 'extra_info' } : result;
}

/** A supervisor_1 child spec; under simple_one_for_one the first extra argument picks the mode. */
export function worker(id: string, spec: Partial<ChildSpec> = {}, mode: Mode = 'normal'): ChildSpec {
  return { id, start: (parent, ...extra) => startWorker(parent, (extra[0] as Mode | undefined) ?? mode), ...spec };
}

// --- supervisor_3: a child whose init reports to the test and waits for the test to say how it ends ---

export class InitReply {
  constructor(readonly result: { ok: undefined } | { stop: ExitReason } | { ignore: true }) {}
}
export interface Announce {
  announce: string;
  pid: Pid;
}
export const isAnnounce = (m: unknown, name?: string): m is Announce =>
  typeof m === 'object' && m !== null && 'announce' in m && (name === undefined || (m as Announce).announce === name);
export const OK = new InitReply({ ok: undefined });

export function announcing(name: string, tester: Pid): ChildSpec {
  return {
    id: name,
    shutdown: 1000,
    start: (parent) =>
      GenServer.startLink(
        parent,
        {
          async init(_: void, self: ProcessContext) {
            self.send(tester, { announce: name, pid: self.pid } satisfies Announce);
            return (await self.receive<InitReply>((m) => m instanceof InitReply)).result;
          },
        },
        undefined,
      ),
  };
}

// --- supervisor_deadlock: a child that can be told to crash, and whose restarts can be made to fail ---

export class RestartLoop {
  failStart = false;
  /** Each failed start "takes" 2 s of the fake clock, like supervisor_deadlock's timer:sleep(2000). */
  constructor(private readonly advanceClock: (ms: number) => void) {}
  spec(id: string, spec: Partial<ChildSpec> = {}): ChildSpec {
    return {
      id,
      restart: 'permanent',
      shutdown: 'brutal_kill',
      start: (parent) => {
        if (this.failStart) {
          this.advanceClock(2000);
          return GenServer.startLink(parent, { init: () => ({ stop: 'error' }) }, undefined);
        }
        return GenServer.startLink(parent, { init: () => ({ ok: null }), handleCast: (_m: 'restart', s: null) => ({ stop: 'error', state: s }) }, undefined);
      },
      ...spec,
    };
  }
}

// --- Helpers mirroring the suite's own ---

export const flags = (strategy: Strategy, intensity: number, period: number): Omit<SupervisorSpec, 'children'> => ({ strategy, intensity, period });

/** OTP's start_link({local, sup_test}, ...): a supervisor linked to the test process. */
export async function startLink(tp: TestProcess, init: SupervisorInit, name: string | null = 'sup_test'): Promise<Pid> {
  return okPid(await Supervisor.startLink(tp.self, init, name === null ? {} : { name }));
}

/** OTP's get_child_counts: [specs, active, supervisors, workers]. */
export async function counts(rt: Runtime, sup: Pid | string): Promise<number[]> {
  const c = await Supervisor.countChildren(rt, sup);
  return [c.specs, c.active, c.supervisors, c.workers];
}

export async function which(rt: Runtime, sup: Pid | string): Promise<Array<[string | undefined, Pid | 'restarting' | undefined, string]>> {
  return (await Supervisor.whichChildren(rt, sup)).map((c) => [c.id, c.pid, c.type]);
}

/** The first child in whichChildren order (OTP's `[{Id, Pid, _, _}|_] = which_children(Sup)`). */
export async function first(rt: Runtime, sup: Pid | string): Promise<[string | undefined, Pid | 'restarting' | undefined, string]> {
  const [head] = await which(rt, sup);
  if (head === undefined) throw new Error(`${String(sup)} has no children`);
  return head;
}

export const pidsOf = async (rt: Runtime, sup: Pid | string): Promise<Pid[]> => (await which(rt, sup)).map(([, pid]) => pid as Pid);

export type How = 'kill' | 'shutdown' | { shutdown: unknown } | 'normal' | 'abnormal' | 'supervisor';

/** OTP's terminate/4: ends a child one way and waits for the DOWN that proves it. */
export async function terminate(rt: Runtime, tp: TestProcess, sup: Pid, pid: Pid, id: string, how: How): Promise<void> {
  if (how === 'supervisor') {
    expect(await Supervisor.terminateChild(rt, sup, id)).toEqual({ ok: true });
    return;
  }
  const down = tp.down(pid);
  if (how === 'kill') rt.exit(pid, 'kill');
  else if (how === 'normal') rt.send(pid, 'stop');
  else if (how === 'abnormal') rt.send(pid, 'die');
  else rt.exit(pid, how);
  const expected = how === 'kill' ? 'killed' : how === 'normal' ? 'normal' : how === 'abnormal' ? 'died' : how;
  expect(await down).toEqual(expected);
}

/** OTP's terminate(Pid, shutdown): an exit signal from the supervisor's parent; resolves to its exit reason. */
export function shutdown(rt: Runtime, tp: TestProcess, sup: Pid, from: Pid = tp.pid): Promise<ExitReason> {
  const down = tp.down(sup);
  rt.exit(sup, 'shutdown', from);
  return down;
}

/** Resolves after `n` restart events of `sup` that produced a pid (restarts that failed do not count). */
export function restarts(rt: Runtime, sup: Pid, n: number): Promise<void> {
  let seen = 0;
  return nextEvent(rt, 'restart', (e) => e.supervisor === sup && e.pid !== null && ++seen === n).then(() => undefined);
}

/** Resolves after `n` start_error events of `sup`. */
export function startErrors(rt: Runtime, sup: Pid, n: number): Promise<void> {
  let seen = 0;
  return nextEvent(rt, 'start_error', (e) => e.supervisor === sup && ++seen === n).then(() => undefined);
}

/** No EXIT arrived at the test process (OTP's check_no_exit), checked after a FIFO barrier. */
export async function expectNoExit(tp: TestProcess): Promise<void> {
  await tp.sync();
  expect(tp.held().filter((m) => m instanceof Exit)).toEqual([]);
}

/** The supervisor handled everything sent before this call and is still running (OTP: error = check_exit([Sup], T)). */
export async function expectAlive(rt: Runtime, sup: Pid): Promise<void> {
  await Supervisor.countChildren(rt, sup);
  expect(rt.isAlive(sup)).toBe(true);
}

export const fakeTimers = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
