// Sessions: the subtree of the application that holds session actors (DESIGN.md's `Sessions` child), and the
// handle that calls them. The subtree is rest_for_one: a Registry (sessions by id, via-names), a
// DynamicSupervisor of SessionActors (temporary: a crashed session comes back from the store on its next call,
// not by a restart), and the manager that passivates idle ones. The handle finds or starts the actor of an
// id and calls it; a call that lands on an actor just passivated is sent again to a fresh one.

import { CallExitError, DynamicSupervisor, GenServer, NoProcError, Registry, Supervisor, runtimeOf, type Caller, type ChildSpec, type Pid } from '@dspex/runtime';
import { Store as SupervisedStore, type Store } from '@dspex/store';
import type { Affinity, PythonPool } from '@dspex/python-bridge';
import type { CallOptions, Fields, Module, Prediction } from 'dspex';
import { actorTreeChildren, startedPid } from '../actor_tree/actor_tree.js';
import { SessionClosedError, SessionCrashedError, SessionsConfigError, SessionsNotRunningError } from './errors.js';
import type { JsonObject } from './history.js';
import { SessionsManager, configsOf, type SessionsStats } from './passivation.js';
import {
  CLOSED,
  PASSIVATED,
  SessionActor,
  type SessionChanges,
  type SessionFunction,
  type SessionReply,
  type SessionRequest,
  type SessionSnapshot,
  type SessionsConfig,
} from './session_actor.js';

/** Options of Sessions.childSpec / Sessions.start. */
export interface SessionsOptions {
  /** Where sessions live: a Store (openStore, Store.connect) or the registered name of a supervised Store. Required. */
  store: Store | string;
  /** Passivate a session unused for this long (ms). Default 30 minutes; Infinity: never by age. */
  ttlMs?: number;
  /** At most this many live actors; past it the least recently used are passivated. Default 10,000. */
  maxLive?: number;
  /** Earlier turns kept in memory and passed as `history` (the newest). Default 100. All turns stay in the store. */
  historyTurns?: number;
  /** How often the TTL is checked (ms). Default ttlMs / 4, at least 1 s; Infinity: only on sessions.sweep(). */
  sweepIntervalMs?: number;
  /** The clock of last use (TTL). Default Date.now; tests pass a fake one and call sweep(). */
  clock?: () => number;
  /** A Python pool: context.python() in a function program is a pool session pinned to one worker per session. */
  python?: { pool: PythonPool; affinity?: Affinity };
  /** The registered name of the manager; the Registry and DynamicSupervisor take `${name}.Registry` / `.Supervisor`. Default `Sessions`. */
  name?: string;
}

/** Per-call options of sessions.call. */
export interface SessionCallOptions extends CallOptions {
  /** How long the caller waits for the reply (ms); default Infinity. The turn is still recorded after a timeout. */
  timeoutMs?: number;
}

/** The handle on a running Sessions tree. */
export interface SessionsHandle {
  /**
   * Runs `program` in session `id` (starting or rehydrating it) with the session's history, bound values and
   * settings, records the turn in the store, and resolves to the program's result once the turn is committed:
   * a Module's Prediction (its `dspy.History` input, if any, gets the history), or a function's outputs.
   * A program that throws records nothing and its error reaches the caller.
   */
  call<O extends Fields>(id: string, program: Module<Fields, O>, inputs: JsonObject, options?: SessionCallOptions): Promise<Prediction<O>>;
  call<R extends JsonObject>(id: string, program: (inputs: JsonObject, context: Parameters<SessionFunction>[1]) => Promise<R> | R, inputs: JsonObject, options?: SessionCallOptions): Promise<R>;
  /** The session as stored (version 0 and no turns for an id never used). */
  get(id: string): Promise<SessionSnapshot>;
  /** Replaces settings and/or bound values with what `fn` returns; persisted before it resolves. */
  update(id: string, fn: (session: SessionSnapshot) => SessionChanges): Promise<SessionSnapshot>;
  /** Ends the session: deletes it and its turns from the store and stops its actor. */
  close(id: string): Promise<void>;
  /** Stops the session's actor, keeping it in the store (what the TTL does); false when it was not live. */
  passivate(id: string): Promise<boolean>;
  /** Passivates every session idle for ttlMs or more now; resolves to how many. */
  sweep(): Promise<number>;
  stats(): Promise<SessionsStats>;
}

const DEFAULTS = { ttlMs: 30 * 60_000, maxLive: 10_000, historyTurns: 100 };

function checkCount(field: string, value: number, allowInfinity: boolean): number {
  if (value === Infinity && allowInfinity) return value;
  if (!Number.isInteger(value) || value < 0) throw new SessionsConfigError(field, `must be a non-negative integer${allowInfinity ? ' or Infinity' : ''}, not ${String(value)}.`);
  return value;
}

function resolveConfig(caller: Caller, options: SessionsOptions): { config: SessionsConfig; sweepIntervalMs: number } {
  if (options === null || typeof options !== 'object') throw new SessionsConfigError('options', 'pass an object such as { store }.');
  const { store } = options;
  if (store === undefined || store === null) {
    throw new SessionsConfigError('store', 'is missing. Sessions persist every turn: pass { store: await openStore({ sqlite: { dir } }) } or the name of a supervised Store.');
  }
  const resolved = typeof store === 'string' ? SupervisedStore.connect(caller, store) : store;
  if (typeof resolved.appendTurn !== 'function' || typeof resolved.loadSession !== 'function') throw new SessionsConfigError('store', 'is not a @dspex/store Store (openStore or Store.connect gives one).');
  const name = options.name ?? 'Sessions';
  const ttlMs = checkCount('ttlMs', options.ttlMs ?? DEFAULTS.ttlMs, true);
  const maxLive = checkCount('maxLive', options.maxLive ?? DEFAULTS.maxLive, true);
  if (maxLive < 1) throw new SessionsConfigError('maxLive', 'must be at least 1.');
  const historyTurns = checkCount('historyTurns', options.historyTurns ?? DEFAULTS.historyTurns, true);
  const sweepIntervalMs = checkCount('sweepIntervalMs', options.sweepIntervalMs ?? (Number.isFinite(ttlMs) ? Math.max(1000, Math.floor(ttlMs / 4)) : Infinity), true);
  const config: SessionsConfig = {
    name,
    store: resolved,
    historyTurns,
    ttlMs,
    maxLive,
    clock: options.clock ?? Date.now,
    ...(options.python === undefined ? {} : { python: options.python }),
    registryName: `${name}.Registry`,
    supervisorName: `${name}.Supervisor`,
    managerName: name,
  };
  return { config, sweepIntervalMs };
}

function treeSpec(caller: Caller, options: SessionsOptions) {
  const { config, sweepIntervalMs } = resolveConfig(caller, options);
  return {
    strategy: 'rest_for_one' as const,
    children: [
      ...actorTreeChildren(config.registryName, config.supervisorName),
      { id: config.managerName, start: (parent) => GenServer.startLink(parent, SessionsManager, { config, sweepIntervalMs }, { name: config.managerName, trapExit: true, label: 'SessionsManager' }) } satisfies ChildSpec,
    ],
  };
}

function isPassivated(reason: unknown): boolean {
  return typeof reason === 'object' && reason !== null && (reason as { shutdown?: unknown }).shutdown === PASSIVATED.shutdown;
}

function hydrateFailure(reason: unknown): unknown {
  const detail = typeof reason === 'object' && reason !== null ? (reason as { shutdown?: unknown }).shutdown : undefined;
  return typeof detail === 'object' && detail !== null && 'hydrateFailed' in detail ? (detail as { hydrateFailed: unknown }).hydrateFailed : undefined;
}

/** How many times a call is sent again after landing on an actor that was passivating. */
const MAX_REDIRECTS = 5;

function connected(caller: Caller, name: string): SessionsHandle {
  const config = (operation: string): SessionsConfig => {
    const entry = configsOf(runtimeOf(caller)).get(name);
    if (entry === undefined || !runtimeOf(caller).whereis(name)) throw new SessionsNotRunningError(name, operation);
    return entry.config;
  };

  const live = (cfg: SessionsConfig, id: string): Pid | undefined => Registry.of<string, unknown>(caller, cfg.registryName).lookup(id)[0]?.[0];

  const ensure = async (cfg: SessionsConfig, id: string): Promise<Pid> => {
    const existing = live(cfg, id);
    if (existing !== undefined) return existing;
    const via = Registry.of<string, unknown>(caller, cfg.registryName).via(id);
    const started = await DynamicSupervisor.startChild(caller, cfg.supervisorName, {
      id: 'session',
      restart: 'temporary',
      shutdown: 5000,
      start: (parent) => GenServer.startLink(parent, SessionActor, { id, config: cfg }, { name: via, trapExit: true, label: 'Session' }),
    });
    return startedPid(started, (reason) => new SessionsNotRunningError(name, `starting session "${id}"`, { cause: reason }));
  };

  const request = async (operation: string, id: string, message: SessionRequest, timeoutMs = Infinity): Promise<unknown> => {
    if (typeof id !== 'string' || id.length === 0) throw new SessionsConfigError('id', `${operation} takes a non-empty string session id, not ${JSON.stringify(id)}.`);
    for (let attempt = 0; ; attempt++) {
      const cfg = config(operation);
      let pid: Pid;
      try {
        pid = await ensure(cfg, id);
      } catch (error) {
        if (error instanceof NoProcError) throw new SessionsNotRunningError(name, operation, { cause: error });
        throw error;
      }
      let reply: SessionReply;
      try {
        reply = await GenServer.call<SessionReply>(caller, pid, message, timeoutMs);
      } catch (error) {
        const redirect = error instanceof NoProcError || (error instanceof CallExitError && isPassivated(error.reason));
        if (redirect && attempt < MAX_REDIRECTS) continue;
        if (error instanceof CallExitError) {
          const failed = hydrateFailure(error.reason);
          if (failed !== undefined) throw failed;
          const closed = typeof error.reason === 'object' && error.reason !== null && (error.reason as { shutdown?: unknown }).shutdown === CLOSED.shutdown;
          if (closed) throw new SessionClosedError(id);
          throw new SessionCrashedError(id, error.reason, { cause: error });
        }
        throw error;
      }
      if ('error' in reply) throw reply.error;
      return reply.ok;
    }
  };

  return {
    call(id: string, program: unknown, inputs: JsonObject, options: SessionCallOptions = {}) {
      const { timeoutMs, ...callOptions } = options;
      return request('sessions.call', id, { op: 'call', program: program as Module, inputs, options: callOptions }, timeoutMs) as Promise<never>;
    },
    get: (id) => request('sessions.get', id, { op: 'get' }) as Promise<SessionSnapshot>,
    update: (id, fn) => request('sessions.update', id, { op: 'update', fn }) as Promise<SessionSnapshot>,
    async close(id) {
      try {
        await request('sessions.close', id, { op: 'close' });
      } catch (error) {
        if (!(error instanceof SessionClosedError)) throw error; // closed twice at once: closed all the same
      }
    },
    async passivate(id) {
      const pid = live(config('sessions.passivate'), id);
      if (pid === undefined) return false;
      await GenServer.stop(caller, pid, PASSIVATED).catch((error: unknown) => {
        if (!(error instanceof NoProcError)) throw error;
      });
      return true;
    },
    sweep: () => GenServer.call<number>(caller, config('sessions.sweep').managerName, 'sweep'),
    stats: () => GenServer.call<SessionsStats>(caller, config('sessions.stats').managerName, 'stats'),
  } as SessionsHandle;
}

/** Session actors: `Sessions.start(rt, { store })` or `Sessions.childSpec({ store })` in your tree. */
export const Sessions = {
  /**
   * The Sessions subtree as a child of your supervisor (a rest_for_one supervisor with the Registry, the
   * DynamicSupervisor of session actors and the manager). Throws SessionsConfigError for a missing store or
   * bad options before anything starts.
   */
  childSpec(options: SessionsOptions, spec: Omit<ChildSpec, 'id' | 'start'> = {}): ChildSpec {
    const name = options?.name ?? 'Sessions';
    let built: ReturnType<typeof treeSpec> | undefined;
    if (options?.store === undefined || options.store === null) resolveConfig(undefined as unknown as Caller, options); // throws the typed error now
    return {
      type: 'supervisor',
      ...spec,
      id: name,
      start: (parent) => Supervisor.startLink(parent, (built ??= treeSpec(parent, options)), { name: `${name}.Tree` }),
    };
  },

  /** Starts the Sessions subtree outside a supervisor and resolves to its handle. */
  async start(caller: Caller, options: SessionsOptions): Promise<SessionsHandle> {
    const name = options?.name ?? 'Sessions';
    const started = await Supervisor.start(caller, treeSpec(caller, options), { name: `${name}.Tree` });
    if (!('ok' in started)) throw new SessionsNotRunningError(name, 'Sessions.start', { cause: 'error' in started ? started.error : started });
    return connected(caller, name);
  },

  /** The handle on the Sessions tree registered as `name` (default `Sessions`); it finds the live tree on every call. */
  connect(caller: Caller, name = 'Sessions'): SessionsHandle {
    return connected(caller, name);
  },
};
