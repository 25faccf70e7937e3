// Actors by key: the subtree shape shared by Variables and Learners (and, in part, Sessions). A rest_for_one
// supervisor holds a unique-keys Registry (`<name>.Registry`, actors by key, via-names) and a DynamicSupervisor
// (`<name>.Supervisor`); a handle finds an actor by key or starts it, and sends a request again when it is gone.
// An actor is registered with the fingerprint of the definition it runs, so a handle with another definition
// under the same key is refused (its kind's mismatch error) instead of silently using the running one.

import { EventEmitter } from 'eventemitter3';
import { CallExitError, DynamicSupervisor, GenServer, NoProcError, Registry, Supervisor, runtimeOf, type Caller, type ChildSpec, type Pid, type ProcessContext, type Runtime } from '@dspex/runtime';
import { Store as SupervisedStore, type Store } from '@dspex/store';
import { isFingerprint, type Fingerprint } from './fingerprint.js';

/** How many times a request is sent again when it finds the actor gone (stopped or restarting). */
export const MAX_REDIRECTS = 5;

/** The via-name an actor registers under in its tree's Registry. */
export type ActorVia = ReturnType<ReturnType<typeof Registry.of<string, unknown>>['via']>;

/** A via-name that registers the actor under `key` with `value` (the registry's value of the entry). */
function viaWithValue(registry: ReturnType<typeof Registry.of<string, unknown>>, key: string, value: unknown): ActorVia {
  return { via: { whereisName: (k: unknown) => registry.whereisName(k as string), registerName: (k: unknown, pid: Pid) => registry.registerName(k as string, pid, value) }, key };
}

/** The two children every actors-by-key tree starts with: the unique-keys Registry, then the DynamicSupervisor. */
export function actorTreeChildren(registryName: string, supervisorName: string): ChildSpec[] {
  return [
    Registry.childSpec({ keys: 'unique', name: registryName }),
    DynamicSupervisor.childSpec({}, { id: supervisorName, start: (parent) => DynamicSupervisor.startLink(parent, {}, { name: supervisorName }) }),
  ];
}

/** The pid of a DynamicSupervisor.startChild result (or of the actor already started under that name); otherwise throws `fail(reason)`. */
export function startedPid(started: Awaited<ReturnType<typeof DynamicSupervisor.startChild>>, fail: (reason: unknown) => Error): Pid {
  if ('ok' in started && started.ok !== null) return started.ok;
  if ('error' in started && typeof started.error === 'object' && started.error !== null && 'alreadyStarted' in started.error) return (started.error as { alreadyStarted: Pid }).alreadyStarted;
  throw fail('error' in started ? started.error : started);
}

/** Options of an actors-by-key tree (VariablesOptions and LearnersOptions are this shape). */
export interface ActorTreeOptions {
  /** Where actors persist: a Store (openStore) or the registered name of a supervised Store. Required. */
  store: Store | string;
  /** The registered name of the tree. */
  name?: string;
  /** The actors' clock. Default Date.now. */
  clock?: () => number;
}

/** What a running tree shares with its handles: the resolved store, the clock, its children's names and the events by key. */
export interface ActorTreeConfig<E> {
  name: string;
  store: Store;
  clock: () => number;
  registryName: string;
  supervisorName: string;
  events: EventEmitter<Record<string, [E]>>;
}

/** One kind of tree (Variables, Learners): its default name and its own typed errors. */
export interface ActorTreeKind {
  /** The tree's name when options.name is absent (also the prefix of `<Kind>.start` in errors). */
  defaultName: string;
  /** The error for options without a store. */
  missingStore: () => Error;
  /** The error for a tree that is not running (or failed to start). */
  notRunning: (treeName: string, operation: string, options?: { cause?: unknown }) => Error;
  /** Whether childSpec checks the store before anything starts (otherwise the tree's start fails). */
  checkStoreEagerly?: boolean;
}

/** How an actor of a tree is started under its DynamicSupervisor. */
export interface ActorStart<E> {
  /** The child id under the DynamicSupervisor. */
  id: string;
  restart: 'transient' | 'temporary' | 'permanent';
  /** Links the actor to `parent`, registered as `via`; `publish` emits on the tree's events for this key. */
  start: (parent: ProcessContext, config: ActorTreeConfig<E>, via: ActorVia, publish: (event: E) => void) => ReturnType<ChildSpec['start']>;
  /** The error for a start that failed with a reason that is not an Error. */
  failed: (reason: unknown) => Error;
  /**
   * The definition this handle starts the actor with: the actor is registered with `fingerprint`, and a handle
   * whose fingerprint differs from the running actor's gets `mismatch(runningFingerprint)` (nothing is sent).
   */
  definition?: { fingerprint: Fingerprint; mismatch: (running: Fingerprint) => Error };
}

/** The handle side of one actor: its tree's config, lookup, start, requests with redirects, events and stop. */
export interface ActorRef<E, M> {
  /** The running tree's config; throws the kind's notRunning error for `operation` otherwise. */
  config(operation: string): ActorTreeConfig<E>;
  /** The live actor's pid, if any. */
  lookup(config: ActorTreeConfig<E>): Pid | undefined;
  /** Finds the actor or starts it; throws the start's `definition.mismatch` when it runs another definition. */
  ensure(config: ActorTreeConfig<E>): Promise<Pid>;
  /**
   * Calls the actor with `message` (starting it if needed) and resolves to its `{ ok }` or rejects with its
   * `{ error }`. Sent again, up to MAX_REDIRECTS times, when the actor was gone (NoProcError) or, when
   * `retryOnExit(message)`, when it exited during the call.
   */
  request(operation: string, message: M, retryOnExit: (message: M) => boolean): Promise<unknown>;
  /** Calls `listener` on the key's events (a throwing listener is reported as internal_error); returns the unsubscribe function. */
  subscribe(operation: string, listener: (event: E) => void): () => void;
  /** Stops the actor, if live. */
  stop(operation: string): Promise<void>;
}

/** The machinery of one kind of actors-by-key tree: one WeakMap of tree configs per runtime. */
export function actorTrees<E>(kind: ActorTreeKind) {
  const trees = new WeakMap<Runtime, Map<string, ActorTreeConfig<E>>>();
  const treesOf = (runtime: Runtime): Map<string, ActorTreeConfig<E>> => {
    let map = trees.get(runtime);
    if (map === undefined) trees.set(runtime, (map = new Map()));
    return map;
  };

  const configOf = (caller: Caller, treeName: string, operation: string): ActorTreeConfig<E> => {
    const entry = treesOf(runtimeOf(caller)).get(treeName);
    if (entry === undefined || !runtimeOf(caller).whereis(entry.supervisorName)) throw kind.notRunning(treeName, operation);
    return entry;
  };

  const stopActor = async (caller: Caller, treeName: string, key: string, operation: string): Promise<void> => {
    const cfg = configOf(caller, treeName, operation);
    const pid = Registry.of<string, unknown>(caller, cfg.registryName).lookup(key)[0]?.[0];
    if (pid !== undefined) await DynamicSupervisor.terminateChild(caller, cfg.supervisorName, pid).catch(() => undefined);
  };

  const resolve = (caller: Caller, options: ActorTreeOptions): ActorTreeConfig<E> => {
    if (options === null || typeof options !== 'object' || options.store === undefined || options.store === null) throw kind.missingStore();
    const store = typeof options.store === 'string' ? SupervisedStore.connect(caller, options.store) : options.store;
    const name = options.name ?? kind.defaultName;
    return { name, store, clock: options.clock ?? Date.now, registryName: `${name}.Registry`, supervisorName: `${name}.Supervisor`, events: new EventEmitter() };
  };

  const treeSpec = (caller: Caller, options: ActorTreeOptions) => {
    const config = resolve(caller, options);
    treesOf(runtimeOf(caller)).set(config.name, config);
    return { strategy: 'rest_for_one' as const, children: actorTreeChildren(config.registryName, config.supervisorName) };
  };

  return {
    /** The tree as a child of your supervisor. */
    childSpec(options: ActorTreeOptions, spec: Omit<ChildSpec, 'id' | 'start'> = {}): ChildSpec {
      const name = options?.name ?? kind.defaultName;
      if (kind.checkStoreEagerly && (options?.store === undefined || options.store === null)) throw kind.missingStore();
      return { type: 'supervisor', ...spec, id: name, start: (parent) => Supervisor.startLink(parent, treeSpec(parent, options), { name: `${name}.Tree` }) };
    },

    /** Starts the tree outside a supervisor and resolves to its name; rejects with notRunning(name, `${operation}`). */
    async start(caller: Caller, options: ActorTreeOptions, operation: string): Promise<string> {
      const name = options?.name ?? kind.defaultName;
      const started = await Supervisor.start(caller, treeSpec(caller, options), { name: `${name}.Tree` });
      if (!('ok' in started)) throw kind.notRunning(name, operation, { cause: 'error' in started ? started.error : started });
      return name;
    },

    /** The handle side of the actor of `key` in tree `treeName`. */
    actor<M, R extends { ok: unknown } | { error: unknown }>(caller: Caller, treeName: string, key: string, how: ActorStart<E>): ActorRef<E, M> {
      const registryOf = (cfg: ActorTreeConfig<E>) => Registry.of<string, unknown>(caller, cfg.registryName);
      const config = (operation: string): ActorTreeConfig<E> => configOf(caller, treeName, operation);
      const lookup = (cfg: ActorTreeConfig<E>): Pid | undefined => registryOf(cfg).lookup(key)[0]?.[0];
      // The running actor's entry carries the fingerprint it was started with (restarts reuse the same via-name).
      const sameDefinition = (cfg: ActorTreeConfig<E>, pid: Pid): Pid => {
        const entry = registryOf(cfg).lookup(key)[0];
        const mine = how.definition;
        if (mine === undefined || entry === undefined || entry[0] !== pid || !isFingerprint(entry[1])) return pid;
        if (entry[1] !== mine.fingerprint && entry[1].text !== mine.fingerprint.text) throw mine.mismatch(entry[1]);
        return pid;
      };
      const ensure = async (cfg: ActorTreeConfig<E>): Promise<Pid> => {
        const existing = lookup(cfg);
        if (existing !== undefined) return sameDefinition(cfg, existing);
        const registry = registryOf(cfg);
        const via = how.definition === undefined ? registry.via(key) : viaWithValue(registry, key, how.definition.fingerprint);
        const started = await DynamicSupervisor.startChild(caller, cfg.supervisorName, {
          id: how.id,
          restart: how.restart,
          start: (parent) => how.start(parent, cfg, via, (event) => cfg.events.emit(key, event)),
        });
        // alreadyStarted: another handle won the race; its definition must be this one's too.
        return sameDefinition(cfg, startedPid(started, (reason) => (reason instanceof Error ? reason : how.failed(reason))));
      };
      return {
        config,
        lookup,
        ensure,
        async request(operation, message, retryOnExit) {
          for (let attempt = 0; ; attempt++) {
            const pid = await ensure(config(operation));
            let reply: R;
            try {
              reply = await GenServer.call<R>(caller, pid, message);
            } catch (error) {
              const gone = error instanceof NoProcError || (error instanceof CallExitError && retryOnExit(message));
              if (gone && attempt < MAX_REDIRECTS) continue;
              throw error;
            }
            if ('error' in reply) throw reply.error;
            return reply.ok;
          }
        },
        subscribe(operation, listener) {
          const events = config(operation).events;
          const safe = (event: E): void => {
            try {
              listener(event);
            } catch (error) {
              // A subscriber's failure must not undo or delay what the actor did: report it and carry on.
              const pid = Registry.of<string, unknown>(caller, `${treeName}.Registry`).lookup(key)[0]?.[0];
              if (pid !== undefined) runtimeOf(caller).telemetry.emit('internal_error', { error, pid });
            }
          };
          events.on(key, safe);
          return () => void events.off(key, safe);
        },
        stop: (operation) => stopActor(caller, treeName, key, operation),
      };
    },

    /** Stops the actor of `key` in tree `treeName`, if live, whatever definition it runs. */
    stop: (caller: Caller, treeName: string, key: string, operation: string): Promise<void> => stopActor(caller, treeName, key, operation),
  };
}
