// Supervisor: OTP's supervisor.erl. A GenServer that traps exits, starts its children left to right,
// restarts them by strategy within a restart intensity, and stops them right to left.
//
// Contract: Supervisor.start(caller, init) where init is a SupervisorSpec, or a function returning one or
// 'ignore' (Module:init/1). Flags: strategy one_for_one | one_for_all | rest_for_one | simple_one_for_one,
// intensity (default 1) restarts within period (default 5 seconds), autoShutdown never | any_significant |
// all_significant. Past the intensity the supervisor stops its children and exits with 'shutdown'.

import { BadArgumentError, DuplicateChildError, InvalidChildSpecError, formatReason } from './errors.js';
import { GenServer, runtimeOf, type Caller, type CallResult, type GenServerBehavior, type InitResult, type NoReplyResult, type StartOptions, type StartResult } from './gen_server.js';
import { normalizeChildSpec, shutdownChild, startChildProcess, type ChildSpec, type ChildType, type NormalizedChildSpec } from './child_spec.js';
import type { Dest, Pid, ProcessContext } from './process.js';
import { Exit, isNormalExit, type ExitReason } from './reasons.js';
import { RestartIntensity, checkIntensity, checkPeriod, stoppedCleanly, supervisorReport, supervisorShutdown } from './supervision.js';

/**
 * Which children a supervisor restarts when one exits: it alone, all, or it and those started after it;
 * simple_one_for_one starts children from one template.
 */
export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one' | 'simple_one_for_one';
/** Whether the exit of significant children shuts the supervisor down: never, at the first, or once all are gone. */
export type AutoShutdown = 'never' | 'any_significant' | 'all_significant';

/** The supervisor flags (OTP sup_flags): strategy, restart intensity and auto shutdown. */
export interface SupervisorFlags {
  strategy?: Strategy;
  /** Restarts allowed within `period` before the supervisor gives up (default 1). */
  intensity?: number;
  /** The window for `intensity`, in seconds as in OTP (default 5). */
  period?: number;
  autoShutdown?: AutoShutdown;
}

/** What a supervisor starts with: its flags and its children, started left to right. */
export interface SupervisorSpec extends SupervisorFlags {
  /** Started left to right, stopped right to left. simple_one_for_one: exactly one template spec. */
  children: ChildSpec[];
}

/** A supervisor's spec, or a function called in the supervisor's process that returns one (or 'ignore'). */
export type SupervisorInit = SupervisorSpec | (() => SupervisorSpec | 'ignore' | Promise<SupervisorSpec | 'ignore'>);

/** What whichChildren reports per child: pid, 'restarting', or undefined when not running. */
export interface ChildInfo {
  id: string | undefined;
  pid: Pid | 'restarting' | undefined;
  type: ChildType;
}

/** What Supervisor.countChildren answers (OTP's count_children). */
export interface ChildCounts {
  specs: number;
  active: number;
  supervisors: number;
  workers: number;
}

/** What Supervisor.startChild answers: the child's start result, or why it was not started. */
export type StartChildResult = StartResult | { error: 'already_present' } | { error: { alreadyStarted: Pid } };
/** What terminateChild answers. */
export type TerminateChildResult = { ok: true } | { error: 'not_found' };
/** What Supervisor.restartChild answers. */
export type RestartChildResult = StartResult | { error: 'running' | 'restarting' | 'not_found' | 'simple_one_for_one' };
/** What a simple_one_for_one supervisor answers to a request by id: its children have no ids. */
export type SimpleOnly = { error: 'simple_one_for_one' };
/** What Supervisor.deleteChild answers. */
export type DeleteChildResult = { ok: true } | { error: 'running' | 'restarting' | 'not_found' | 'simple_one_for_one' };

interface Child {
  spec: NormalizedChildSpec;
  pid: Pid | 'restarting' | undefined;
  /** Extra start arguments (simple_one_for_one). */
  extra: readonly unknown[];
  /** simple_one_for_one: the key in `dynamics`, its last pid (kept while it is 'restarting', as OTP does). */
  key?: Pid;
}

interface State {
  strategy: Strategy;
  intensity: RestartIntensity;
  autoShutdown: AutoShutdown;
  /** Static children in start order. */
  children: Child[];
  /** Static children by id, so start/terminate/restart/delete by id do not scan (OTP keeps a map too). */
  byId: Map<string, Child>;
  /** simple_one_for_one: the template, and its children by their last pid, in start order. */
  template: NormalizedChildSpec | null;
  dynamics: Map<Pid, Child>;
}

type Request =
  | { op: 'startChild'; arg: ChildSpec | unknown[] }
  | { op: 'terminateChild'; id: string | Pid }
  | { op: 'restartChild'; id: string }
  | { op: 'deleteChild'; id: string }
  | { op: 'whichChildren' }
  | { op: 'countChildren' }
  | { op: 'getChildSpec'; id: string | Pid };

class TryAgainRestart {
  constructor(readonly child: Child) {}
}

/** A request the supervisor refused for bad input; Supervisor.startChild rethrows the typed error. */
class Rejected {
  constructor(readonly error: Error) {}
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
  const intensity = checkIntensity('intensity', spec.intensity ?? 1);
  const period = spec.period ?? 5;
  checkPeriod('period', period);
  const autoShutdown = spec.autoShutdown ?? 'never';
  if (!AUTO_SHUTDOWNS.includes(autoShutdown)) throw new BadArgumentError(`autoShutdown must be one of ${AUTO_SHUTDOWNS.join(', ')}.`);
  if (strategy === 'simple_one_for_one' && spec.children.length !== 1) {
    throw new BadArgumentError('a simple_one_for_one supervisor takes exactly one child spec, the template.');
  }
  const children = spec.children.map((c) => checkSignificant(normalizeChildSpec(c, { requireId: strategy !== 'simple_one_for_one' }), autoShutdown));
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

/** OTP's bad_combination: a significant child only means something to a supervisor with auto shutdown. */
function checkSignificant(spec: NormalizedChildSpec, autoShutdown: AutoShutdown): NormalizedChildSpec {
  if (spec.significant && autoShutdown === 'never') {
    throw new InvalidChildSpecError(spec.id, "a significant child needs a supervisor with autoShutdown 'any_significant' or 'all_significant'.");
  }
  return spec;
}

const behavior: GenServerBehavior<State, SupervisorInit, Request, unknown, never> = {
  async init(init, self): Promise<InitResult<State>> {
    const spec = typeof init === 'function' ? await init() : init;
    if (spec === 'ignore') return { ignore: true };
    const { flags, children } = validateSupervisorSpec(spec);
    const state: State = {
      strategy: flags.strategy,
      intensity: new RestartIntensity(flags.intensity, checkPeriod('period', flags.period)),
      autoShutdown: flags.autoShutdown,
      children: [],
      byId: new Map(),
      template: flags.strategy === 'simple_one_for_one' ? children[0]! : null,
      dynamics: new Map(),
    };
    if (state.template !== null) return { ok: state };
    for (const childSpec of children) {
      const child: Child = { spec: childSpec, pid: undefined, extra: [] };
      const result = await startChildProcess(self, childSpec);
      if ('error' in result) {
        supervisorReport(self, 'start_error', childSpec.id, result.error);
        await terminateChildren(self, state.children);
        return { stop: { shutdown: { failedToStartChild: childSpec.id, reason: result.error } } };
      }
      if ('ok' in result) {
        self.link(result.ok);
        child.pid = result.ok;
      }
      // An ignored temporary child leaves no spec behind (sup_start_ignore_temporary_child).
      if ('ok' in result || childSpec.restart !== 'temporary') addChild(state, child);
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
    else runtimeOf(self).logger.error({ pid: String(self.pid) }, `supervisor ${self.pid} received an unexpected message: ${formatReason(message)}`);
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
  // By pid: a map lookup for dynamic children, a scan for static ones (OTP's find_child_by_pid folds too).
  const child = state.template !== null ? state.dynamics.get(pid) : state.children.find((c) => c.pid === pid);
  if (child === undefined || child.pid !== pid) return undefined; // not (or no longer) our child
  const { restart, significant } = child.spec;
  if (restart === 'permanent' || (restart === 'transient' && !isNormalExit(reason))) {
    supervisorReport(self, 'child_terminated', child.spec.id, reason);
    return restartChild(child, reason, state, self);
  }
  if (!isNormalExit(reason)) supervisorReport(self, 'child_terminated', child.spec.id, reason);
  removeOrClear(child, state);
  if (significant && shouldAutoShutdown(state)) {
    supervisorShutdown(self, 'auto_shutdown', child.spec.id);
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
  if (!state.intensity.add(runtimeOf(self).clock())) {
    supervisorShutdown(self, 'reached_max_restart_intensity', child.spec.id);
    removeOrClear(child, state); // it is dead: the shutdown that follows must not try to stop it (OTP's del_child)
    return GIVE_UP;
  }
  const failed = await restartByStrategy(child, state, self);
  runtimeOf(self).telemetry.emit('restart', { supervisor: self.pid, childId: child.spec.id, reason, pid: typeof child.pid === 'object' ? child.pid : null });
  // The retry restarts the child that failed to start, which under one_for_all and rest_for_one need not be
  // the one that exited (OTP's {try_again, FailedId}).
  if (failed !== null) self.send(self.pid, new TryAgainRestart(failed));
  return undefined;
}

/** A restart that failed is retried from a message to ourselves, so calls are served in between. */
async function tryAgain(child: Child, state: State, self: ProcessContext): Promise<typeof GIVE_UP | undefined> {
  if (child.pid !== 'restarting' || !isCurrent(child, state)) return undefined; // terminated or deleted since
  return restartChild(child, 'restarting', state, self);
}


/** Restarts per strategy. Returns the child that failed to start (left as 'restarting'), or null. */
async function restartByStrategy(child: Child, state: State, self: ProcessContext): Promise<Child | null> {
  switch (state.strategy) {
    case 'one_for_one':
    case 'simple_one_for_one':
      return (await startInPlace(child, state, self)) ? null : child;
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
      const after = state.children.slice(state.children.indexOf(child) + 1);
      await terminateChildren(self, after);
      for (const other of after) removeOrClear(other, state);
      return startAll(state.children.slice(state.children.indexOf(child)), state, self);
    }
  }
}

async function startInPlace(child: Child, state: State, self: ProcessContext): Promise<boolean> {
  const result = await startChildProcess(self, child.spec, child.extra);
  if ('error' in result) {
    supervisorReport(self, 'start_error', child.spec.id, result.error);
    child.pid = 'restarting'; // a dynamic child stays filed under its last pid
    return false;
  }
  if ('ignore' in result) {
    removeOrClear(child, state);
    return true;
  }
  self.link(result.ok);
  if (state.template !== null) {
    if (child.key !== undefined) state.dynamics.delete(child.key);
    child.key = result.ok;
    state.dynamics.set(result.ok, child);
  }
  child.pid = result.ok;
  return true;
}

/** Starts the not-running children of `list` in order, stopping at the first that fails; returns it or null. */
async function startAll(list: readonly Child[], state: State, self: ProcessContext): Promise<Child | null> {
  for (const child of [...list]) {
    if (typeof child.pid === 'object') continue;
    child.pid = undefined;
    if (!(await startInPlace(child, state, self))) return child;
  }
  return null;
}

/** Whether `child` is still one of ours (a pending retry may outlive a terminate or delete). */
function isCurrent(child: Child, state: State): boolean {
  if (state.template !== null) return child.key !== undefined && state.dynamics.get(child.key) === child;
  return state.byId.get(child.spec.id) === child;
}

function addChild(state: State, child: Child): void {
  state.children.push(child);
  state.byId.set(child.spec.id, child);
}

function removeChild(state: State, child: Child): void {
  const at = state.children.indexOf(child);
  if (at >= 0) state.children.splice(at, 1);
  if (state.byId.get(child.spec.id) === child) state.byId.delete(child.spec.id);
}

/** After a child ends for good: dynamic and temporary children are forgotten; others stay with no pid. */
function removeOrClear(child: Child, state: State): void {
  if (state.template !== null) {
    if (child.key !== undefined && state.dynamics.get(child.key) === child) state.dynamics.delete(child.key);
    child.pid = undefined;
    return;
  }
  if (child.spec.restart === 'temporary') removeChild(state, child);
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
  if ('error' in result && !stoppedCleanly(child.spec, result.error, child.key !== undefined)) {
    supervisorReport(self, 'shutdown_error', child.spec.id, result.error);
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
    case 'terminateChild':
      return terminateChildRequest(request.id, state, self);
    case 'restartChild': {
      if (state.template !== null) return { error: 'simple_one_for_one' };
      const child = state.byId.get(request.id);
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
      if (state.template !== null) return { error: 'simple_one_for_one' };
      const child = state.byId.get(request.id);
      if (child === undefined) return { error: 'not_found' };
      if (child.pid === 'restarting') return { error: 'restarting' };
      if (child.pid !== undefined) return { error: 'running' };
      removeChild(state, child);
      return { ok: true };
    }
    case 'whichChildren': {
      const list = state.template !== null ? [...state.dynamics.values()] : state.children;
      return list.map((c): ChildInfo => ({ id: state.template !== null ? undefined : c.spec.id, pid: c.pid, type: c.spec.type }));
    }
    case 'countChildren':
      return countChildren(state, self);
    case 'getChildSpec': {
      // simple_one_for_one children are found by pid and all share the template (sup_start_map_simple).
      const child = state.template !== null ? state.dynamics.get(request.id as Pid) : state.byId.get(request.id as string);
      return child === undefined ? { error: 'not_found' } : { ok: child.spec };
    }
  }
}

/** Static children by id; simple_one_for_one children by pid (a pid that is no longer alive is already done). */
async function terminateChildRequest(id: string | Pid, state: State, self: ProcessContext): Promise<TerminateChildResult | SimpleOnly> {
  if (state.template !== null) {
    if (typeof id !== 'object') return { error: 'simple_one_for_one' };
    const child = state.dynamics.get(id);
    if (child === undefined) return runtimeOf(self).isAlive(id) ? { error: 'not_found' } : { ok: true };
    await terminateOne(self, child);
    removeOrClear(child, state);
    return { ok: true };
  }
  const child = typeof id === 'string' ? state.byId.get(id) : undefined;
  if (child === undefined) return { error: 'not_found' };
  await terminateOne(self, child);
  if (child.spec.restart === 'temporary') removeChild(state, child);
  return { ok: true };
}

async function startChildRequest(arg: ChildSpec | unknown[], state: State, self: ProcessContext): Promise<StartChildResult | Rejected> {
  if (state.template !== null) {
    if (!Array.isArray(arg)) return { error: new BadArgumentError('a simple_one_for_one supervisor starts children from extra arguments: pass an array.') };
    // A temporary child is never restarted, so its start arguments are not kept (OTP-16804).
    const child: Child = { spec: state.template, pid: undefined, extra: state.template.restart === 'temporary' ? [] : arg };
    const result = await startChildProcess(self, state.template, arg);
    if ('ok' in result) {
      self.link(result.ok);
      child.pid = result.ok;
      child.key = result.ok;
      state.dynamics.set(result.ok, child);
    }
    return result;
  }
  if (Array.isArray(arg)) return { error: new BadArgumentError('only a simple_one_for_one supervisor starts children from extra arguments; pass a child spec.') };
  let spec: NormalizedChildSpec;
  try {
    spec = checkSignificant(normalizeChildSpec(arg), state.autoShutdown);
  } catch (error) {
    if (error instanceof InvalidChildSpecError) return new Rejected(error);
    throw error;
  }
  const existing = state.byId.get(spec.id);
  if (existing !== undefined) {
    return typeof existing.pid === 'object' ? { error: { alreadyStarted: existing.pid } } : { error: 'already_present' };
  }
  const result = await startChildProcess(self, spec);
  if ('ok' in result) {
    self.link(result.ok);
    addChild(state, { spec, pid: result.ok, extra: [] });
  } else if ('ignore' in result && spec.restart !== 'temporary') {
    addChild(state, { spec, pid: undefined, extra: [] });
  }
  return result;
}

function countChildren(state: State, self: ProcessContext): ChildCounts {
  if (state.template !== null) {
    const running = [...state.dynamics.values()];
    const active = running.filter((c) => typeof c.pid === 'object').length;
    const isSupervisor = state.template.type === 'supervisor';
    return { specs: 1, active, supervisors: isSupervisor ? running.length : 0, workers: isSupervisor ? 0 : running.length };
  }
  const rt = runtimeOf(self);
  const counts: ChildCounts = { specs: 0, active: 0, supervisors: 0, workers: 0 };
  for (const child of state.children) {
    counts.specs++;
    if (typeof child.pid === 'object' && rt.isAlive(child.pid)) counts.active++;
    if (child.spec.type === 'supervisor') counts.supervisors++;
    else counts.workers++;
  }
  return counts;
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

/** OTP's supervisor: starts children from child specs, restarts them by strategy and intensity, stops them in order. */
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
    // Validated here, in the caller, so bad input rejects at once and never reaches the supervisor. What only
    // the supervisor can check (a significant child without auto shutdown) comes back as a rejection.
    if (!Array.isArray(specOrExtra)) normalizeChildSpec(specOrExtra);
    const result = await call<StartChildResult | Rejected>(caller, sup, { op: 'startChild', arg: specOrExtra });
    if (result instanceof Rejected) throw result.error;
    return result;
  },

  /**
   * Stops a child by id (or by pid for simple_one_for_one); a non-temporary child's spec is kept. A
   * simple_one_for_one supervisor answers { error: 'simple_one_for_one' } to an id.
   */
  terminateChild(caller: Caller, sup: Dest, id: string | Pid): Promise<TerminateChildResult | SimpleOnly> {
    return call(caller, sup, { op: 'terminateChild', id });
  },

  /** Starts again a child that was terminated; { error: 'running' } if it runs, 'simple_one_for_one' there. */
  restartChild(caller: Caller, sup: Dest, id: string): Promise<RestartChildResult> {
    return call(caller, sup, { op: 'restartChild', id });
  },

  /** Forgets the spec of a terminated child; { error: 'running' } if it runs, 'simple_one_for_one' there. */
  deleteChild(caller: Caller, sup: Dest, id: string): Promise<DeleteChildResult> {
    return call(caller, sup, { op: 'deleteChild', id });
  },

  whichChildren(caller: Caller, sup: Dest): Promise<ChildInfo[]> {
    return call(caller, sup, { op: 'whichChildren' });
  },

  countChildren(caller: Caller, sup: Dest): Promise<ChildCounts> {
    return call(caller, sup, { op: 'countChildren' });
  },

  /** A child's spec with defaults filled in, by id (by pid under simple_one_for_one: the template). */
  getChildSpec(caller: Caller, sup: Dest, id: string | Pid): Promise<{ ok: NormalizedChildSpec } | { error: 'not_found' }> {
    return call(caller, sup, { op: 'getChildSpec', id });
  },

  /** Stops the supervisor and all its children (right to left); resolves when it has exited. */
  stop(caller: Caller, sup: Dest, reason: ExitReason = 'normal', timeoutMs = Infinity): Promise<void> {
    return GenServer.stop(caller, sup, reason, timeoutMs);
  },
};
