// Variables: the subtree of the application that holds variable spaces (DESIGN.md's `Variables` child), and the
// handles that use them. The subtree is rest_for_one: a Registry (coordinators by space name, via-names) and a
// DynamicSupervisor of VariableCoordinators (transient: a crashed coordinator is restarted and reloads its
// space from the store). Subscriptions live in the tree, not in a coordinator, so they survive its restarts.

import { EventEmitter } from 'eventemitter3';
import {
  CallExitError,
  DynamicSupervisor,
  GenServer,
  NoProcError,
  Registry,
  Supervisor,
  runtimeOf,
  type Caller,
  type ChildSpec,
  type Pid,
  type Runtime,
} from '@dspex/runtime';
import { Store as SupervisedStore, type Store } from '@dspex/store';
import type { JsonValue } from '@dspex/store';
import { VariablesNotRunningError, VariableDefinitionError } from './errors.js';
import { VariableCoordinator, type CoordinatorReply, type CoordinatorRequest, type HistoryEntry, type SetOptions, type SpaceSnapshot } from './coordinator.js';
import type { Assignment } from './kinds.js';
import type { SpaceDefinition } from './space.js';

/** Options of Variables.start / childSpec. */
export interface VariablesOptions {
  /** Where spaces persist: a Store (openStore) or the registered name of a supervised Store. Required. */
  store: Store | string;
  /** The registered name of the tree; its Registry and DynamicSupervisor take `${name}.Registry` / `.Supervisor`. Default `Variables`. */
  name?: string;
  /** The clock of history entries. Default Date.now. */
  clock?: () => number;
}

/** A committed update, as subscribers get it. */
export interface SpaceChange {
  space: string;
  entry: HistoryEntry;
  snapshot: SpaceSnapshot;
}

/** The handle on one variable space; every method goes through its coordinator. */
export interface VariableSpace {
  readonly name: string;
  readonly definition: SpaceDefinition;
  /** The store the space persists to (optimizers record their trials there too). */
  readonly store: Store;
  /** The current version and values. */
  get(): Promise<SpaceSnapshot>;
  /**
   * Sets free variables (the others keep their values, derived ones are recomputed), checks every constraint,
   * writes the update to the store and resolves to the new snapshot. Rejects with VariableValueError (nothing
   * written) or, with `expectedVersion`, VariableConflictError when another writer got there first.
   */
  set(values: Assignment, options?: SetOptions): Promise<SpaceSnapshot>;
  /** Every update, oldest first; with `variable`, those that changed it. */
  history(options?: { variable?: string }): Promise<HistoryEntry[]>;
  /** Calls `listener` after each committed update; returns the unsubscribe function. */
  subscribe(listener: (change: SpaceChange) => void): () => void;
  /** The committed updates from now on, as an async iterator (leave the loop or pass `signal` to stop). */
  changes(options?: { signal?: AbortSignal }): AsyncIterableIterator<SpaceChange>;
  /** Stops the space's coordinator (its state stays in the store; the next call starts it again). */
  stop(): Promise<void>;
}

/** The handle on a running Variables tree. */
export interface VariablesHandle {
  /** Starts (or finds) the coordinator of `definition`'s space, loading it from the store, and resolves to its handle. */
  space(definition: SpaceDefinition): Promise<VariableSpace>;
}

interface TreeConfig {
  name: string;
  store: Store;
  clock: () => number;
  registryName: string;
  supervisorName: string;
  events: EventEmitter<Record<string, [SpaceChange]>>;
}

const TREES = new WeakMap<Runtime, Map<string, TreeConfig>>();

function treesOf(runtime: Runtime): Map<string, TreeConfig> {
  let trees = TREES.get(runtime);
  if (trees === undefined) TREES.set(runtime, (trees = new Map()));
  return trees;
}

function resolveConfig(caller: Caller, options: VariablesOptions): TreeConfig {
  if (options === null || typeof options !== 'object' || options.store === undefined || options.store === null) {
    throw new VariableDefinitionError('(tree)', undefined, 'Variables needs { store }: spaces persist every update. Pass await openStore({ sqlite: { dir } }) or the name of a supervised Store.');
  }
  const store = typeof options.store === 'string' ? SupervisedStore.connect(caller, options.store) : options.store;
  const name = options.name ?? 'Variables';
  return { name, store, clock: options.clock ?? Date.now, registryName: `${name}.Registry`, supervisorName: `${name}.Supervisor`, events: new EventEmitter() };
}

function treeSpec(caller: Caller, options: VariablesOptions) {
  const config = resolveConfig(caller, options);
  treesOf(runtimeOf(caller)).set(config.name, config);
  return {
    strategy: 'rest_for_one' as const,
    children: [
      Registry.childSpec({ keys: 'unique', name: config.registryName }),
      DynamicSupervisor.childSpec({}, { id: config.supervisorName, start: (parent) => DynamicSupervisor.startLink(parent, {}, { name: config.supervisorName }) }),
    ],
  };
}

/** How many times a request is sent again when it finds the coordinator gone (stopped or restarting). */
const MAX_REDIRECTS = 5;

function spaceHandle(caller: Caller, treeName: string, definition: SpaceDefinition): VariableSpace {
  const space = definition.name;
  const config = (operation: string): TreeConfig => {
    const entry = treesOf(runtimeOf(caller)).get(treeName);
    if (entry === undefined || !runtimeOf(caller).whereis(entry.supervisorName)) throw new VariablesNotRunningError(treeName, operation);
    return entry;
  };

  const ensure = async (cfg: TreeConfig): Promise<Pid> => {
    const registry = Registry.of<string, unknown>(caller, cfg.registryName);
    const existing = registry.lookup(space)[0]?.[0];
    if (existing !== undefined) return existing;
    const started = await DynamicSupervisor.startChild(caller, cfg.supervisorName, {
      id: `variables:${space}`,
      restart: 'transient',
      start: (parent) =>
        GenServer.startLink(
          parent,
          VariableCoordinator,
          { definition, store: cfg.store, clock: cfg.clock, publish: (entry, snapshot) => cfg.events.emit(space, { space, entry, snapshot }) },
          { name: registry.via(space), label: 'VariableCoordinator' },
        ),
    });
    if ('ok' in started && started.ok !== null) return started.ok;
    if ('error' in started && typeof started.error === 'object' && started.error !== null && 'alreadyStarted' in started.error) return (started.error as { alreadyStarted: Pid }).alreadyStarted;
    const reason = 'error' in started ? started.error : started;
    throw reason instanceof Error ? reason : new VariablesNotRunningError(treeName, `starting the coordinator of space "${space}"`, { cause: reason });
  };

  const request = async (operation: string, message: CoordinatorRequest): Promise<unknown> => {
    for (let attempt = 0; ; attempt++) {
      const cfg = config(operation);
      const pid = await ensure(cfg);
      let reply: CoordinatorReply;
      try {
        reply = await GenServer.call<CoordinatorReply>(caller, pid, message);
      } catch (error) {
        const gone = error instanceof NoProcError || (error instanceof CallExitError && attempt < MAX_REDIRECTS && message.op !== 'set');
        if (gone && attempt < MAX_REDIRECTS) continue;
        throw error;
      }
      if ('error' in reply) throw reply.error;
      return reply.ok;
    }
  };

  const subscribe = (listener: (change: SpaceChange) => void): (() => void) => {
    const events = config('space.subscribe').events;
    const safe = (change: SpaceChange): void => {
      try {
        listener(change);
      } catch (error) {
        // A subscriber's failure must not undo or delay a committed update: report it and carry on.
        const pid = Registry.of<string, unknown>(caller, `${treeName}.Registry`).lookup(space)[0]?.[0];
        if (pid !== undefined) runtimeOf(caller).telemetry.emit('internal_error', { error, pid });
      }
    };
    events.on(space, safe);
    return () => void events.off(space, safe);
  };

  const changes = (options: { signal?: AbortSignal } = {}): AsyncIterableIterator<SpaceChange> => {
    const queue: SpaceChange[] = [];
    let waiting: ((result: IteratorResult<SpaceChange>) => void) | undefined;
    let done = false;
    const finish = (): IteratorResult<SpaceChange> => {
      done = true;
      unsubscribe();
      waiting?.({ value: undefined, done: true });
      waiting = undefined;
      return { value: undefined, done: true };
    };
    const unsubscribe = subscribe((change) => {
      if (waiting !== undefined) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ value: change, done: false });
      } else queue.push(change);
    });
    options.signal?.addEventListener('abort', finish, { once: true });
    return {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
        if (done || options.signal?.aborted) return Promise.resolve(finish());
        return new Promise((resolve) => (waiting = resolve));
      },
      return: () => Promise.resolve(finish()),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  };

  return {
    name: space,
    definition,
    get store() {
      return config('space.store').store;
    },
    get: () => request('space.get', { op: 'get' }) as Promise<SpaceSnapshot>,
    set: (values, options = {}) => request('space.set', { op: 'set', values: values as Record<string, JsonValue>, options }) as Promise<SpaceSnapshot>,
    history: (options = {}) => request('space.history', { op: 'history', ...(options.variable === undefined ? {} : { variable: options.variable }) }) as Promise<HistoryEntry[]>,
    subscribe,
    changes,
    async stop() {
      const cfg = config('space.stop');
      const pid = Registry.of<string, unknown>(caller, cfg.registryName).lookup(space)[0]?.[0];
      if (pid === undefined) return;
      await DynamicSupervisor.terminateChild(caller, cfg.supervisorName, pid).catch(() => undefined);
    },
  };
}

function connected(caller: Caller, name: string): VariablesHandle {
  return {
    async space(definition) {
      const handle = spaceHandle(caller, name, definition);
      await handle.get(); // starts the coordinator and loads the space now, so a bad store fails here
      return handle;
    },
  };
}

/** The variables subsystem: `Variables.start(rt, { store })` or `Variables.childSpec({ store })` in your tree. */
export const Variables = {
  /** The Variables subtree as a child of your supervisor. Throws VariableDefinitionError for a missing store. */
  childSpec(options: VariablesOptions, spec: Omit<ChildSpec, 'id' | 'start'> = {}): ChildSpec {
    const name = options?.name ?? 'Variables';
    if (options?.store === undefined || options.store === null) resolveConfig(undefined as unknown as Caller, options); // throws the typed error now
    return { type: 'supervisor', ...spec, id: name, start: (parent) => Supervisor.startLink(parent, treeSpec(parent, options), { name: `${name}.Tree` }) };
  },

  /** Starts the Variables subtree outside a supervisor and resolves to its handle. */
  async start(caller: Caller, options: VariablesOptions): Promise<VariablesHandle> {
    const name = options?.name ?? 'Variables';
    const started = await Supervisor.start(caller, treeSpec(caller, options), { name: `${name}.Tree` });
    if (!('ok' in started)) throw new VariablesNotRunningError(name, 'Variables.start', { cause: 'error' in started ? started.error : started });
    return connected(caller, name);
  },

  /** The handle on the Variables tree registered as `name` (default `Variables`). */
  connect(caller: Caller, name = 'Variables'): VariablesHandle {
    return connected(caller, name);
  },
};
