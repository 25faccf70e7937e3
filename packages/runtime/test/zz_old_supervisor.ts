// Supervisor: OTP's supervisor.erl. A GenServer that traps exits, starts its children left to right,
// restarts them by strategy within a restart intensity, and stops them right to left.
//
// Contract: Supervisor.start(caller, init) where init is a SupervisorSpec, or a function returning one or
// 'ignore' (Module:init/1). Flags: strategy one_for_one | one_for_all | rest_for_one | simple_one_for_one,
// intensity (default 1) restarts within period (default 5 seconds), autoShutdown never | any_significant |
// all_significant. Past the intensity the supervisor stops its children and exits with 'shutdown'.

import { BadArgumentError, DuplicateChildError, InvalidChildSpecError, formatReason } from '../src/errors.js';
import { GenServer, runtimeOf, type Caller, type CallResult, type GenServerBehavior, type InitResult, type NoReplyResult, type StartOptions, type StartResult } from '../src/gen_server.js';
import { normalizeChildSpec, shutdownChild, startChildProcess, type ChildSpec, type ChildType, type NormalizedChildSpec } from '../src/child_spec.js';
import type { Dest, Pid, ProcessContext } from '../src/process.js';
import { Exit, isNormalExit, type ExitReason } from '../src/reasons.js';

export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one' | 'simple_one_for_one';
export type AutoShutdown = 'never' | 'any_significant' | 'all_significant';

export interface SupervisorFlags {
  strategy?: Strategy;
  /** Restarts allowed within `period` before the supervisor gives up (default 1). */
  intensity?: number;
  /** The window for `intensity`, in seconds as in OTP (default 5). */
  period?: number;
  autoShutdown?: AutoShutdown;
}

export interface SupervisorSpec extends SupervisorFlags {
  /** Started left to right, stopped right to left. simple_one_for_one: exactly one template spec. */
  children: ChildSpec[];
}

export type SupervisorInit = SupervisorSpec | (() => SupervisorSpec | 'ignore' | Promise<SupervisorSpec | 'ignore'>);

/** What whichChildren reports per child: pid, 'restarting', or undefined when not running. */
export interface ChildInfo {
  id: string | undefined;
  pid: Pid | 'restarting' | undefined;
  type: ChildType;
}

export interface ChildCounts {
  specs: number;
  active: number;
  supervisors: number;
  workers: number;
}

export type StartChildResult = StartResult | { error: 'already_present' } | { error: { alreadyStarted: Pid } };
export type TerminateChildResult = { ok: true } | { error: 'not_found' };
export type RestartChildResult = StartResult | { error: 'running' | 'restarting' | 'not_found' };
export type DeleteChildResult = { ok: true } | { error: 'running' | 'restarting' | 'not_found' };

interface Child {
  spec: NormalizedChildSpec;
  pid: Pid | 'restarting' | undefined;
  /** Extra start arguments (simple_one_for_one). */
  extra: readonly unknown[];
}

interface State {
  strategy: Strategy;
  intensity: number;
  periodMs: number;
  autoShutdown: AutoShutdown;
  /** Static children in start order. */
  children: Child[];
  /** simple_one_for_one: the template, and running children by pid in start order. */
  template: NormalizedChildSpec | null;
  dynamics: Map<Pid, Child>;
  /** Monotonic times of recent restarts, oldest first. */
  restarts: number[];
}

type Request =
  | { op: 'startChild'; arg: ChildSpec | unknown[] }
  | { op: 'terminateChild'; id: string | Pid }
  | { op: 'restartChild'; id: string }
  | { op: 'deleteChild'; id: string }
  | { op: 'whichChildren' }
  | { op: 'countChildren' }
  | { op: 'getChildSpec'; id: string };

class TryAgainRestart {
  constructor(readonly child: Child) {}
}

/** The intensity was reached: the supervisor stops with 'shutdown' (OTP's reached_max_restart_intensity). */
const GIVE_UP = Symbol('give-up');

const STRATEGIES: readonly Strategy[] = ['one_for_one', 'one_for_all', 'rest_for_one', 'simple_one_for_one'];
const AUTO_SHUTDOWNS: readonly AutoShutdown[] = ['never', 'any_significant', 'all_significant'];

/** Checks a supervisor spec: flags, each child spec, unique ids. Throws the typed error naming the problem. */
export function validateSupervisorSpec(spec: SupervisorSpec): { flags: Required<SupervisorFlags>; children: NormalizedChildSpec[] } {
  if (spec === null || typeof spec !== 'object' || !Array.isArray(spec.children)) {
    throw new BadArgumentError('a supervisor spec is an object { strategy?, intensity?, period?, autoShutdown?, children: ChildSpec[] }.');
  }
  const strategy = spec.strategy ?? 'one_for_one';
  if (!STRATEGIES.includes(strategy)) throw new BadArgumentError(`unknown supervisor strategy ${String(strategy)}; use one of ${STRATEGIES.join(', ')}.`);
  const intensity = spec.intensity ?? 1;
  if (!Number.isInteger(intensity) || intensity < 0) throw new BadArgumentError(`intensity must be a non-negative integer, not ${String(intensity)}.`);
  const period = spec.period ?? 5;
  if (typeof period !== 'number' || !(period > 0)) throw new BadArgumentError(`period must be a positive number of seconds, not ${String(period)}.`);
  const autoShutdown = spec.autoShutdown ?? 'never';
  if (!AUTO_SHUTDOWNS.includes(autoShutdown)) throw new BadArgumentError(`autoShutdown must be one of ${AUTO_SHUTDOWNS.join(', ')}.`);
  if (strategy === 'simple_one_for_one' && spec.children.length !== 1) {
    throw new BadArgumentError('a simple_one_for_one supervisor takes exactly one child spec, the template.');
  }
  const children = spec.children.map((c) => normalizeChildSpec(c, { requireId: strategy !== 'simple_one_for_one' }));
  if (autoShutdown !== 'never' && strategy === 'simple_one_for_one' && children[0]!.significant) {
    throw new InvalidChildSpecError(children[0]!.id, 'simple_one_for_one children cannot be significant with auto shutdown.');
  }
  const seen = new Set<string>();
  for (const child of children) {
    if (seen.has(child.id)) throw new DuplicateChildError(child.id);
    seen.add(child.id);
  }
  return { flags: { strategy, intensity, period, autoShutdown }, children };
}

const behavior: GenServerBehavior<State, SupervisorInit, Request, unknown, never> = {
  async init(init, self): Promise<InitResult<State>> {
    const spec = typeof init === 'function' ? await init() : init;
    if (spec === 'ignore') return { ignore: true };
    const { flags, children } = validateSupervisorSpec(spec);
    const state: State = {
      strategy: flags.strategy,
      intensity: flags.intensity,
      periodMs: flags.period * 1000,
      autoShutdown: flags.autoShutdown,
      children: [],
      template: flags.strategy === 'simple_one_for_one' ? children[0]! : null,
      dynamics: new Map(),
      restarts: [],
    };
    if (state.template !== null) return { ok: state };
    for (const childSpec of children) {
      const child: Child = { spec: childSpec, pid: undefined, extra: [] };
      const result = await startChildProcess(self, childSpec);
      if ('error' in result) {
        reportError(self, 'start_error', childSpec.id, result.error);
        await terminateChildren(self, state.children);
        return { stop: { shutdown: { failedToStartChild: childSpec.id, reason: result.error } } };
      }
      if ('ok' in result) {
        self.link(result.ok);
        child.pid = result.ok;
      }
      // An ignored temporary child leaves no spec behind (sup_start_ignore_temporary_child).
      if ('ok' in result || childSpec.restart !== 'temporary') state.children.push(child);
    }
    return { ok: state };
  },

  async handleCall(request, _from, state, self): Promise<CallResult<State, unknown>> {
    return { reply: await handleRequest(request, state, self), state };
  },

  async handleInfo(message, state, self): Promise<NoReplyResult<State>> {
    let outcome: typeof GIVE_UP | 'auto_shutdown' | undefined;
    if (message instanceof Exit) outcome = await onChildExit(message.from, message.reason, state, self);
    else if (message instanceof TryAgainRestart) outcome = await tryAgain(message.child, state, self);
    if (outcome === GIVE_UP) return { stop: 'shutdown', state };
    if (outcome === 'auto_shutdown') return { stop: 'shutdown', state };
    return { noreply: true, state };
  },

  async terminate(_reason, state, self): Promise<void> {
    if (state === undefined) return;
    if (state.template !== null) await terminateDynamics(self, state);
    else await terminateChildren(self, state.children);
  },
};

// --- Child exits and restarts ---

async function onChildExit(pid: Pid, reason: ExitReason, state: State, self: ProcessContext): Promise<typeof GIVE_UP | 'auto_shutdown' | undefined> {
  const child = state.template !== null ? state.dynamics.get(pid) : state.children.find((c) => c.pid === pid);
  if (child === undefined) return undefined; // an EXIT from a process that is not (or no longer) our child
  const { restart, significant } = child.spec;
  if (restart === 'permanent' || (restart === 'transient' && !isNormalExit(reason))) {
    reportError(self, 'child_terminated', child.spec.id, reason);
    return restartChild(child, reason, state, self);
  }
  if (!isNormalExit(reason)) reportError(self, 'child_terminated', child.spec.id, reason);
  removeOrClear(child, state);
  if (significant && shouldAutoShutdown(state)) {
    emitSupervisorShutdown(self, 'auto_shutdown', child.spec.id);
    return 'auto_shutdown';
  }
  return undefined;
}

function shouldAutoShutdown(state: State): boolean {
  if (state.autoShutdown === 'any_significant') return true;
  if (state.autoShutdown === 'all_significant') {
    return !state.children.some((c) => c.spec.significant && c.pid !== undefined);
  }
  return false;
}

/** Counts a restart against the intensity, then restarts by strategy. */
async function restartChild(child: Child, reason: ExitReason, state: State, self: ProcessContext): Promise<typeof GIVE_UP | undefined> {
  if (!addRestart(state, runtimeOf(self).clock())) {
    reportError(self, 'shutdown', child.spec.id, 'reached_max_restart_intensity');
    emitSupervisorShutdown(self, 'reached_max_restart_intensity', child.spec.id);
    return GIVE_UP;
  }
  const ok = await restartByStrategy(child, state, self);
  runtimeOf(self).telemetry.emit('restart', { supervisor: self.pid, childId: child.spec.id, reason, pid: typeof child.pid === 'object' ? child.pid : null });
  if (!ok) self.send(self.pid, new TryAgainRestart(child));
  return undefined;
}

/** A restart that failed is retried from a message to ourselves, so calls are served in between. */
async function tryAgain(child: Child, state: State, self: ProcessContext): Promise<typeof GIVE_UP | undefined> {
  const known = state.template !== null ? [...state.dynamics.values()].includes(child) : state.children.includes(child);
  if (!known || child.pid !== 'restarting') return undefined;
  return restartChild(child, 'restarting', state, self);
}

/** OTP's add_restart: keep restart times within the period; more than `intensity` of them is too many. */
function addRestart(state: State, now: number): boolean {
  state.restarts.push(now);
  while (state.restarts.length > 0 && now - state.restarts[0]! > state.periodMs) state.restarts.shift();
  return state.restarts.length <= state.intensity;
}

/** Restarts per strategy. Returns false when a start failed (that child is left as 'restarting'). */
async function restartByStrategy(child: Child, state: State, self: ProcessContext): Promise<boolean> {
  switch (state.strategy) {
    case 'one_for_one':
    case 'simple_one_for_one':
      return startInPlace(child, state, self);
    case 'one_for_all': {
      if (child.pid !== 'restarting') child.pid = undefined;
      const others = state.children.filter((c) => c !== child);
      await terminateChildren(self, others);
      // A temporary sibling stopped here is forgotten, not restarted (OTP's terminate_children).
      for (const other of others) removeOrClear(other, state);
      return startAll(state.children, state, self);
    }
    case 'rest_for_one': {
      if (child.pid !== 'restarting') child.pid = undefined;
      const at = state.children.indexOf(child);
      const after = state.children.slice(at + 1);
      await terminateChildren(self, after);
      for (const other of after) removeOrClear(other, state);
      return startAll(state.children.slice(at), state, self);
    }
  }
}

async function startInPlace(child: Child, state: State, self: ProcessContext): Promise<boolean> {
  if (state.template !== null && typeof child.pid === 'object') state.dynamics.delete(child.pid);
  const result = await startChildProcess(self, child.spec, child.extra);
  if ('error' in result) {
    reportError(self, 'start_error', child.spec.id, result.error);
    child.pid = 'restarting';
    if (state.template !== null) state.dynamics.set(restartingKey(child), child);
    return false;
  }
  if ('ignore' in result) {
    removeOrClear(child, state);
    return true;
  }
  self.link(result.ok);
  if (state.template !== null) {
    state.dynamics.delete(restartingKey(child));
    state.dynamics.set(result.ok, child);
  }
  child.pid = result.ok;
  return true;
}

/** Starts the not-running children of `list` in order, stopping at the first failure. */
async function startAll(list: readonly Child[], state: State, self: ProcessContext): Promise<boolean> {
  for (const child of list) {
    if (typeof child.pid === 'object') continue;
    child.pid = undefined;
    if (!(await startInPlace(child, state, self))) {
      return false;
    }
  }
  return true;
}

/** A simple_one_for_one child waiting to restart has no pid; it is keyed by a stand-in so it stays counted. */
const restartingKeys = new WeakMap<Child, Pid>();
function restartingKey(child: Child): Pid {
  let key = restartingKeys.get(child);
  if (key === undefined) {
    key = { id: -1, toString: () => 'restarting' };
    restartingKeys.set(child, key);
  }
  return key;
}

/** After a child ends for good: temporary specs are forgotten; others stay with no pid. */
function removeOrClear(child: Child, state: State): void {
  if (state.template !== null) {
    if (typeof child.pid === 'object') state.dynamics.delete(child.pid);
    state.dynamics.delete(restartingKey(child));
    return;
  }
  if (child.spec.restart === 'temporary') state.children.splice(state.children.indexOf(child), 1);
  else child.pid = undefined;
}

// --- Stopping children ---

/** Stops running children right to left (the reverse of start order). */
async function terminateChildren(self: ProcessContext, children: readonly Child[]): Promise<void> {
  for (let i = children.length - 1; i >= 0; i--) await terminateOne(self, children[i]!);
}

async function terminateOne(self: ProcessContext, child: Child): Promise<void> {
  if (child.pid === 'restarting') {
    child.pid = undefined;
    return;
  }
  if (child.pid === undefined) return;
  const result = await shutdownChild(self, child.pid, child.spec.shutdown);
  child.pid = undefined;
  if ('error' in result && !(result.error === 'normal' && child.spec.restart !== 'permanent')) {
    reportShutdownError(self, child.spec.id, result.error);
  }
}

/** simple_one_for_one children stop all at once, as OTP does. */
async function terminateDynamics(self: ProcessContext, state: State): Promise<void> {
  const children = [...state.dynamics.values()];
  state.dynamics.clear();
  await Promise.all(children.map((child) => terminateOne(self, child)));
}

// --- Requests ---

async function handleRequest(request: Request, state: State, self: ProcessContext): Promise<unknown> {
  switch (request.op) {
    case 'startChild':
      return startChildRequest(request.arg, state, self);
    case 'terminateChild': {
      const child = findChild(request.id, state);
      if (child === undefined) return { error: 'not_found' };
      await terminateOne(self, child);
      if (state.template !== null) removeOrClear(child, state);
      else if (child.spec.restart === 'temporary') state.children.splice(state.children.indexOf(child), 1);
      return { ok: true };
    }
    case 'restartChild': {
      if (state.template !== null) return { error: 'not_found' };
      const child = state.children.find((c) => c.spec.id === request.id);
      if (child === undefined) return { error: 'not_found' };
      if (child.pid === 'restarting') return { error: 'restarting' };
      if (child.pid !== undefined) return { error: 'running' };
      const result = await startChildProcess(self, child.spec);
      if ('ok' in result) {
        self.link(result.ok);
        child.pid = result.ok;
      }
      return result;
    }
    case 'deleteChild': {
      if (state.template !== null) return { error: 'not_found' };
      const at = state.children.findIndex((c) => c.spec.id === request.id);
      if (at < 0) return { error: 'not_found' };
      const child = state.children[at]!;
      if (child.pid === 'restarting') return { error: 'restarting' };
      if (child.pid !== undefined) return { error: 'running' };
      state.children.splice(at, 1);
      return { ok: true };
    }
    case 'whichChildren': {
      const list = state.template !== null ? [...state.dynamics.values()] : state.children;
      return list.map((c): ChildInfo => ({ id: state.template !== null ? undefined : c.spec.id, pid: c.pid, type: c.spec.type }));
    }
    case 'countChildren':
      return countChildren(state);
    case 'getChildSpec': {
      const child = state.template !== null ? undefined : state.children.find((c) => c.spec.id === request.id);
      return child === undefined ? { error: 'not_found' } : { ok: child.spec };
    }
  }
}

async function startChildRequest(arg: ChildSpec | unknown[], state: State, self: ProcessContext): Promise<StartChildResult> {
  if (state.template !== null) {
    if (!Array.isArray(arg)) return { error: new BadArgumentError('a simple_one_for_one supervisor starts children from extra arguments: pass an array.') };
    const child: Child = { spec: state.template, pid: undefined, extra: arg };
    const result = await startChildProcess(self, state.template, arg);
    if ('ok' in result) {
      self.link(result.ok);
      child.pid = result.ok;
      state.dynamics.set(result.ok, child);
    }
    return result;
  }
  if (Array.isArray(arg)) return { error: new BadArgumentError('only a simple_one_for_one supervisor starts children from extra arguments; pass a child spec.') };
  const spec = normalizeChildSpec(arg);
  const existing = state.children.find((c) => c.spec.id === spec.id);
  if (existing !== undefined) {
    return typeof existing.pid === 'object' ? { error: { alreadyStarted: existing.pid } } : { error: 'already_present' };
  }
  const result = await startChildProcess(self, spec);
  if ('ok' in result) {
    self.link(result.ok);
    state.children.push({ spec, pid: result.ok, extra: [] });
  } else if ('ignore' in result && spec.restart !== 'temporary') {
    state.children.push({ spec, pid: undefined, extra: [] });
  }
  return result;
}

function findChild(id: string | Pid, state: State): Child | undefined {
  if (state.template !== null) return typeof id === 'object' ? state.dynamics.get(id) : undefined;
  return state.children.find((c) => (typeof id === 'string' ? c.spec.id === id : c.pid === id));
}

function countChildren(state: State): ChildCounts {
  if (state.template !== null) {
    const running = [...state.dynamics.values()];
    const active = running.filter((c) => typeof c.pid === 'object').length;
    const isSupervisor = state.template.type === 'supervisor';
    return { specs: 1, active, supervisors: isSupervisor ? running.length : 0, workers: isSupervisor ? 0 : running.length };
  }
  const counts: ChildCounts = { specs: 0, active: 0, supervisors: 0, workers: 0 };
  for (const child of state.children) {
    counts.specs++;
    if (typeof child.pid === 'object') counts.active++;
    if (child.spec.type === 'supervisor') counts.supervisors++;
    else counts.workers++;
  }
  return counts;
}

// --- Reports ---

function reportError(self: ProcessContext, context: 'start_error' | 'child_terminated' | 'shutdown', childId: string, reason: ExitReason): void {
  const rt = runtimeOf(self);
  rt.logger.error({ supervisor_report: { supervisor: String(self.pid), context, childId, reason: formatReason(reason) } }, `supervisor ${self.pid}: ${context} for child ${childId}: ${formatReason(reason)}`);
  if (context === 'start_error') rt.telemetry.emit('start_error', { supervisor: self.pid, childId, reason });
}

function reportShutdownError(self: ProcessContext, childId: string, reason: ExitReason): void {
  const rt = runtimeOf(self);
  rt.logger.error({ supervisor_report: { supervisor: String(self.pid), context: 'shutdown_error', childId, reason: formatReason(reason) } }, `supervisor ${self.pid}: shutdown_error for child ${childId}: ${formatReason(reason)}`);
  rt.telemetry.emit('shutdown_error', { supervisor: self.pid, childId, reason });
}

function emitSupervisorShutdown(self: ProcessContext, reason: 'reached_max_restart_intensity' | 'auto_shutdown', childId: string): void {
  runtimeOf(self).telemetry.emit('supervisor_shutdown', { supervisor: self.pid, reason, childId });
}

// --- Public API ---

function call<T>(caller: Caller, sup: Dest, request: Request, timeoutMs = Infinity): Promise<T> {
  return GenServer.call<T>(caller, sup, request, timeoutMs);
}

function startOptions(options: StartOptions): StartOptions {
  return { label: 'supervisor', ...options, trapExit: true };
}

function checkInit(init: SupervisorInit): void {
  if (typeof init !== 'function') validateSupervisorSpec(init);
}

export const Supervisor = {
  /**
   * Starts a supervisor not linked to the caller. Resolves to { ok: pid }, { ignore } when init said so,
   * or { error: { shutdown: { failedToStartChild, reason } } } when a child failed to start. An invalid
   * spec rejects with InvalidChildSpecError, DuplicateChildError or BadArgumentError.
   */
  async start(caller: Caller, init: SupervisorInit, options: StartOptions = {}): Promise<StartResult> {
    checkInit(init);
    return GenServer.start(caller, behavior, init, startOptions(options));
  },

  /** Starts a supervisor linked to `parent` (a child spec's start function passes its parent here). */
  async startLink(parent: ProcessContext, init: SupervisorInit, options: StartOptions = {}): Promise<StartResult> {
    checkInit(init);
    return GenServer.startLink(parent, behavior, init, startOptions(options));
  },

  /** A child spec that runs a supervisor under another supervisor (type 'supervisor', shutdown infinity). */
  childSpec(id: string, init: SupervisorInit, overrides: Partial<ChildSpec> = {}): ChildSpec {
    return { id, start: (parent) => Supervisor.startLink(parent, init), type: 'supervisor', shutdown: 'infinity', ...overrides };
  },

  /** Adds and starts a child (a spec, or extra arguments for simple_one_for_one). Bad specs reject with a typed error. */
  async startChild(caller: Caller, sup: Dest, specOrExtra: ChildSpec | unknown[]): Promise<StartChildResult> {
    // Validated here, in the caller, so bad input rejects at once and never reaches the supervisor.
    if (!Array.isArray(specOrExtra)) normalizeChildSpec(specOrExtra);
    return call(caller, sup, { op: 'startChild', arg: specOrExtra });
  },

  /** Stops a child by id (or by pid for simple_one_for_one); a non-temporary child's spec is kept. */
  terminateChild(caller: Caller, sup: Dest, id: string | Pid): Promise<TerminateChildResult> {
    return call(caller, sup, { op: 'terminateChild', id });
  },

  /** Starts again a child that was terminated; { error: 'running' } if it runs. */
  restartChild(caller: Caller, sup: Dest, id: string): Promise<RestartChildResult> {
    return call(caller, sup, { op: 'restartChild', id });
  },

  /** Forgets the spec of a terminated child; { error: 'running' } if it runs. */
  deleteChild(caller: Caller, sup: Dest, id: string): Promise<DeleteChildResult> {
    return call(caller, sup, { op: 'deleteChild', id });
  },

  whichChildren(caller: Caller, sup: Dest): Promise<ChildInfo[]> {
    return call(caller, sup, { op: 'whichChildren' });
  },

  countChildren(caller: Caller, sup: Dest): Promise<ChildCounts> {
    return call(caller, sup, { op: 'countChildren' });
  },

  getChildSpec(caller: Caller, sup: Dest, id: string): Promise<{ ok: NormalizedChildSpec } | { error: 'not_found' }> {
    return call(caller, sup, { op: 'getChildSpec', id });
  },

  /** Stops the supervisor and all its children (right to left); resolves when it has exited. */
  stop(caller: Caller, sup: Dest, reason: ExitReason = 'normal', timeoutMs = Infinity): Promise<void> {
    return GenServer.stop(caller, sup, reason, timeoutMs);
  },
};
