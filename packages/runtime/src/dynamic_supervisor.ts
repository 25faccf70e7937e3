// DynamicSupervisor: Elixir's DynamicSupervisor. It starts with no children and is given them at run
// time, each from its own child spec, restarted one_for_one within a restart intensity. DSPex runs
// sessions, variable spaces, pipeline runs and every TaskSupervisor under one.
//
// Contract: start(caller, options) -> StartResult; startChild(caller, sup, spec) -> { ok: pid } | { ignore }
// | { error } ({ error: 'max_children' } when full). Past the intensity it stops its children and exits
// with 'shutdown'. On stop, children are shut down all at once (in parallel), as in Elixir.
//
//   const { ok: sup } = await DynamicSupervisor.start(rt, { maxChildren: 100 }) as { ok: Pid };
//   await DynamicSupervisor.startChild(rt, sup, { id: 'session', start: (parent) => GenServer.startLink(parent, Session, args) });

import { BadArgumentError, ChildStartError, MaxChildrenError, formatReason } from './errors.js';
import { GenServer, runtimeOf, type Caller, type CallResult, type GenServerBehavior, type NoReplyResult, type StartOptions, type StartResult } from './gen_server.js';
import { normalizeChildSpec, shutdownChild, startChildProcess, type ChildSpec, type NormalizedChildSpec } from './child_spec.js';
import type { Dest, Pid, ProcessContext } from './process.js';
import { Exit, isNormalExit, type ExitReason } from './reasons.js';
import { RestartIntensity, checkIntensity, checkPeriod, stoppedCleanly, supervisorReport, supervisorShutdown } from './supervision.js';
import type { ChildCounts, ChildInfo, TerminateChildResult } from './supervisor.js';

/** Options of DynamicSupervisor.start and startLink. */
export interface DynamicSupervisorOptions {
  /** Only one_for_one, as in Elixir (the default). */
  strategy?: 'one_for_one';
  /** Restarts allowed within `maxSeconds` before the supervisor gives up (default 3). */
  maxRestarts?: number;
  /** The window for `maxRestarts`, in seconds (default 5). Measured with `runtime.clock`. */
  maxSeconds?: number;
  /** Children, running or waiting to restart, allowed at once (default Infinity). */
  maxChildren?: number;
  /** Passed to every child's start function right after `parent`, before anything the spec binds itself. */
  extraArguments?: readonly unknown[];
  /** Register the supervisor under this node-wide name. */
  name?: string;
}

interface Flags {
  maxRestarts: number;
  periodMs: number;
  maxChildren: number;
  extraArguments: readonly unknown[];
}

interface Child {
  spec: NormalizedChildSpec;
  /** Its last start failed; a RestartAgain message to ourselves will try again. */
  restarting: boolean;
}

interface State {
  readonly flags: Flags;
  /** Children by pid (the pid it last ran as, while restarting), in start order. */
  readonly children: Map<Pid, Child>;
  readonly intensity: RestartIntensity;
}

// The same request shapes as Supervisor's, so Supervisor.whichChildren and the tree walker work here too.
type Request =
  | { op: 'startChild'; arg: ChildSpec; strict?: boolean }
  | { op: 'terminateChild'; id: string | Pid }
  | { op: 'whichChildren' }
  | { op: 'countChildren' }
  | { op: 'restartChild' | 'deleteChild' | 'getChildSpec'; id: string };

/** A failed restart is retried from a message to ourselves, so calls are served in between (Elixir's $gen_restart). */
class RestartAgain {
  constructor(readonly pid: Pid, readonly reason: ExitReason) {}
}

/** Checks the options and fills defaults; throws BadArgumentError naming the bad one. */
function validateOptions(options: DynamicSupervisorOptions): Flags {
  if (options === null || typeof options !== 'object') throw new BadArgumentError('DynamicSupervisor options must be an object.');
  if (options.strategy !== undefined && options.strategy !== 'one_for_one') {
    throw new BadArgumentError(`a DynamicSupervisor supports only the one_for_one strategy, not ${formatReason(options.strategy)}.`);
  }
  const maxRestarts = checkIntensity('maxRestarts', options.maxRestarts ?? 3);
  const periodMs = checkPeriod('maxSeconds', options.maxSeconds ?? 5);
  const maxChildren = options.maxChildren ?? Infinity;
  if (maxChildren !== Infinity && (!Number.isInteger(maxChildren) || maxChildren < 0)) {
    throw new BadArgumentError(`maxChildren must be a non-negative integer or Infinity, not ${formatReason(maxChildren)}.`);
  }
  const extraArguments = options.extraArguments ?? [];
  if (!Array.isArray(extraArguments)) throw new BadArgumentError('extraArguments must be an array.');
  return { maxRestarts, periodMs, maxChildren, extraArguments: [...extraArguments] };
}

const behavior: GenServerBehavior<State, Flags, Request, unknown, never> = {
  init: (flags) => ({ ok: { flags, children: new Map(), intensity: new RestartIntensity(flags.maxRestarts, flags.periodMs) } }),

  async handleCall(request, _from, state, self): Promise<CallResult<State, unknown>> {
    return { reply: await handleRequest(request, state, self), state };
  },

  async handleInfo(message, state, self): Promise<NoReplyResult<State>> {
    if (message instanceof Exit) {
      const child = state.children.get(message.from);
      if (child !== undefined) return onChildExit(message.from, child, message.reason, state, self);
      return { noreply: true, state }; // an EXIT from a process that is not (or no longer) our child
    }
    if (message instanceof RestartAgain) {
      const child = state.children.get(message.pid);
      if (child !== undefined && child.restarting) return restartChild(message.pid, child, message.reason, state, self);
    }
    return { noreply: true, state };
  },

  async terminate(_reason, state, self): Promise<void> {
    const running = [...state.children].filter(([, child]) => !child.restarting);
    state.children.clear();
    await Promise.all(running.map(([pid, child]) => stopChild(self, pid, child.spec)));
  },
};

// --- Requests ---

async function handleRequest(request: Request, state: State, self: ProcessContext): Promise<unknown> {
  switch (request.op) {
    case 'startChild': {
      let spec: NormalizedChildSpec;
      try {
        spec = normalizeChildSpec(request.arg, { requireId: false });
      } catch (error) {
        return { error };
      }
      if (state.children.size >= state.flags.maxChildren) {
        return { error: request.strict === true ? new MaxChildrenError(state.flags.maxChildren) : 'max_children' };
      }
      // The spec's start links the child to us (the child spec contract), as OTP's supervisor relies on.
      const result = await startChildProcess(self, spec, state.flags.extraArguments);
      if ('ok' in result) state.children.set(result.ok, { spec, restarting: false });
      return result;
    }
    case 'terminateChild': {
      const pid = request.id;
      const child = typeof pid === 'object' ? state.children.get(pid) : undefined;
      if (typeof pid !== 'object' || child === undefined) return { error: 'not_found' };
      if (!child.restarting) await stopChild(self, pid, child.spec);
      state.children.delete(pid);
      return { ok: true };
    }
    case 'whichChildren':
      return [...state.children].map(([pid, child]): ChildInfo => ({ id: undefined, pid: child.restarting ? 'restarting' : pid, type: child.spec.type }));
    case 'countChildren': {
      const counts: ChildCounts = { specs: state.children.size, active: 0, supervisors: 0, workers: 0 };
      for (const child of state.children.values()) {
        if (!child.restarting) counts.active++;
        if (child.spec.type === 'supervisor') counts.supervisors++;
        else counts.workers++;
      }
      return counts;
    }
    default:
      // Children of a dynamic supervisor have no ids to restart, delete or look up by.
      return { error: 'not_found' };
  }
}

// --- Child exits and restarts ---

function onChildExit(pid: Pid, child: Child, reason: ExitReason, state: State, self: ProcessContext): Promise<NoReplyResult<State>> | NoReplyResult<State> {
  const { restart } = child.spec;
  if (restart === 'permanent' || (restart === 'transient' && !isNormalExit(reason))) {
    supervisorReport(self, 'child_terminated', child.spec.id, reason);
    return restartChild(pid, child, reason, state, self);
  }
  if (!isNormalExit(reason)) supervisorReport(self, 'child_terminated', child.spec.id, reason);
  state.children.delete(pid);
  return { noreply: true, state };
}

/** Counts a restart against the intensity, then starts the child again from its spec. */
async function restartChild(pid: Pid, child: Child, reason: ExitReason, state: State, self: ProcessContext): Promise<NoReplyResult<State>> {
  const rt = runtimeOf(self);
  if (!state.intensity.add(rt.clock())) {
    supervisorShutdown(self, 'reached_max_restart_intensity', child.spec.id);
    state.children.delete(pid);
    return { stop: 'shutdown', state };
  }
  const result = await startChildProcess(self, child.spec, state.flags.extraArguments);
  if ('error' in result) {
    supervisorReport(self, 'start_error', child.spec.id, result.error);
    child.restarting = true;
    self.send(self.pid, new RestartAgain(pid, reason));
    return { noreply: true, state };
  }
  state.children.delete(pid);
  if ('ok' in result) {
    child.restarting = false;
    state.children.set(result.ok, child);
  }
  rt.telemetry.emit('restart', { supervisor: self.pid, childId: child.spec.id, reason, pid: 'ok' in result ? result.ok : null });
  return { noreply: true, state };
}

/** OTP's shutdown of one child; one that stopped otherwise than asked (and not cleanly) is a shutdown_error. */
async function stopChild(self: ProcessContext, pid: Pid, spec: NormalizedChildSpec): Promise<void> {
  const result = await shutdownChild(self, pid, spec.shutdown);
  if ('error' in result && !stoppedCleanly(spec, result.error, true)) supervisorReport(self, 'shutdown_error', spec.id, result.error);
}

// --- Public API ---

function startOptions(options: DynamicSupervisorOptions, extra: StartOptions): StartOptions {
  const name = options.name ?? extra.name;
  return { label: 'DynamicSupervisor', ...extra, ...(name === undefined ? {} : { name }), trapExit: true };
}

/** Elixir's DynamicSupervisor: children started on demand, one_for_one, shut down in parallel. */
export const DynamicSupervisor = {
  /**
   * Starts a dynamic supervisor not linked to the caller. Resolves to { ok: pid }, or
   * { error: { alreadyStarted: pid } } when the name is taken. Bad options reject with BadArgumentError.
   */
  async start(caller: Caller, options: DynamicSupervisorOptions = {}, extra: StartOptions = {}): Promise<StartResult> {
    return GenServer.start(caller, behavior, validateOptions(options), startOptions(options, extra));
  },

  /** Like start, linked to `parent` (a child spec's start function passes its parent here). */
  async startLink(parent: ProcessContext, options: DynamicSupervisorOptions = {}, extra: StartOptions = {}): Promise<StartResult> {
    return GenServer.startLink(parent, behavior, validateOptions(options), startOptions(options, extra));
  },

  /** A child spec that runs a dynamic supervisor under another supervisor (type 'supervisor', shutdown infinity). */
  childSpec(options: DynamicSupervisorOptions = {}, overrides: Partial<ChildSpec> = {}): ChildSpec {
    validateOptions(options);
    return {
      id: options.name ?? 'DynamicSupervisor',
      start: (parent) => DynamicSupervisor.startLink(parent, options),
      type: 'supervisor',
      shutdown: 'infinity',
      ...overrides,
    };
  },

  /**
   * Starts a child from `spec` (its id may be omitted) with the supervisor's extraArguments. Resolves to
   * { ok: pid }, { ignore }, { error: reason } from the child's start, or { error: 'max_children' } when
   * the supervisor is full. An invalid spec rejects with InvalidChildSpecError (the supervisor is not
   * involved); a supervisor that is not running rejects with NoProcError.
   */
  async startChild(caller: Caller, sup: Dest, spec: ChildSpec): Promise<StartResult> {
    normalizeChildSpec(spec, { requireId: false });
    return GenServer.call<StartResult>(caller, sup, { op: 'startChild', arg: spec } satisfies Request, Infinity);
  },

  /**
   * The throwing variant of startChild: resolves to the child's pid, or null when its start returned
   * ignore. Rejects with MaxChildrenError when full, ChildStartError (carrying the reason) when the start
   * failed, InvalidChildSpecError for a bad spec, NoProcError when the supervisor is not running.
   */
  async startChildOrThrow(caller: Caller, sup: Dest, spec: ChildSpec): Promise<Pid | null> {
    normalizeChildSpec(spec, { requireId: false });
    const result = await GenServer.call<StartResult>(caller, sup, { op: 'startChild', arg: spec, strict: true } satisfies Request, Infinity);
    if ('ok' in result) return result.ok;
    if ('ignore' in result) return null;
    throw result.error instanceof MaxChildrenError ? result.error : new ChildStartError(result.error);
  },

  /** Shuts a child down by its pid, as its spec's shutdown says. Resolves to { ok } or { error: 'not_found' }. */
  terminateChild(caller: Caller, sup: Dest, pid: Pid): Promise<TerminateChildResult> {
    return GenServer.call<TerminateChildResult>(caller, sup, { op: 'terminateChild', id: pid } satisfies Request, Infinity);
  },

  /** One entry per child: id undefined, its pid (or 'restarting'), and its type. Rejects with NoProcError if not running. */
  whichChildren(caller: Caller, sup: Dest): Promise<ChildInfo[]> {
    return GenServer.call<ChildInfo[]>(caller, sup, { op: 'whichChildren' } satisfies Request, Infinity);
  },

  /** { specs, active, supervisors, workers }; a child waiting to restart counts in specs but not in active. */
  countChildren(caller: Caller, sup: Dest): Promise<ChildCounts> {
    return GenServer.call<ChildCounts>(caller, sup, { op: 'countChildren' } satisfies Request, Infinity);
  },

  /**
   * Stops the supervisor: its children are shut down in parallel, then it exits with `reason`. Rejects
   * with NoProcError if it is not running, CallExitError if it exited with another reason.
   */
  stop(caller: Caller, sup: Dest, reason: ExitReason = 'normal', timeoutMs = Infinity): Promise<void> {
    return GenServer.stop(caller, sup, reason, timeoutMs);
  },
};
