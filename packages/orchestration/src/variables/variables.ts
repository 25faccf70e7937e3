// Variables: the subtree of the application that holds variable spaces (DESIGN.md's `Variables` child), and the
// handles that use them. The subtree is rest_for_one: a Registry (coordinators by space name, via-names) and a
// DynamicSupervisor of VariableCoordinators (transient: a crashed coordinator is restarted and reloads its
// space from the store). Subscriptions live in the tree, not in a coordinator, so they survive its restarts.

import { GenServer, type Caller, type ChildSpec } from '@dspex/runtime';
import type { JsonValue, Store } from '@dspex/store';
import { VariablesNotRunningError, VariableDefinitionError, VariableDefinitionMismatchError } from './errors.js';
import { VariableCoordinator, type CoordinatorReply, type CoordinatorRequest, type HistoryEntry, type SetOptions, type SpaceSnapshot } from './coordinator.js';
import type { Assignment } from './kinds.js';
import { spaceFingerprint, type SpaceDefinition } from './space.js';
import { actorTrees } from '../actor_tree/actor_tree.js';
import { differences } from '../actor_tree/fingerprint.js';

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
  /**
   * Starts (or finds) the coordinator of `definition`'s space, loading it from the store, and resolves to its
   * handle. Rejects with VariableDefinitionMismatchError when the space runs with another definition (compared
   * by structure, functions by source text), and VariableStoredValuesError when the store holds values this
   * definition refuses and it has no `migrate`.
   */
  space(definition: SpaceDefinition): Promise<VariableSpace>;
  /** Stops the coordinator of the space named `name`, if running, whatever its definition (its values stay in the store). */
  stop(name: string): Promise<void>;
}

const TREES = actorTrees<SpaceChange>({
  defaultName: 'Variables',
  missingStore: () => new VariableDefinitionError('(tree)', undefined, 'Variables needs { store }: spaces persist every update. Pass await openStore({ sqlite: { dir } }) or the name of a supervised Store.'),
  notRunning: (treeName, operation, options) => new VariablesNotRunningError(treeName, operation, options),
  checkStoreEagerly: true,
});

function spaceHandle(caller: Caller, treeName: string, definition: SpaceDefinition): VariableSpace {
  const space = definition.name;
  const fingerprint = spaceFingerprint(definition);
  const actor = TREES.actor<CoordinatorRequest, CoordinatorReply>(caller, treeName, space, {
    id: `variables:${space}`,
    restart: 'transient',
    start: (parent, cfg, via, publish) =>
      GenServer.startLink(parent, VariableCoordinator, { definition, store: cfg.store, clock: cfg.clock, publish: (entry, snapshot) => publish({ space, entry, snapshot }) }, { name: via, label: 'VariableCoordinator' }),
    failed: (reason) => new VariablesNotRunningError(treeName, `starting the coordinator of space "${space}"`, { cause: reason }),
    definition: { fingerprint, mismatch: (running) => new VariableDefinitionMismatchError(space, differences(running, fingerprint)) },
  });
  // A set is not sent again after the coordinator exited mid-call: it may have been committed.
  const request = (operation: string, message: CoordinatorRequest): Promise<unknown> => actor.request(operation, message, (sent) => sent.op !== 'set');
  const subscribe = (listener: (change: SpaceChange) => void): (() => void) => actor.subscribe('space.subscribe', listener);

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
      return actor.config('space.store').store;
    },
    get: () => request('space.get', { op: 'get' }) as Promise<SpaceSnapshot>,
    set: (values, options = {}) => request('space.set', { op: 'set', values: values as Record<string, JsonValue>, options }) as Promise<SpaceSnapshot>,
    history: (options = {}) => request('space.history', { op: 'history', ...(options.variable === undefined ? {} : { variable: options.variable }) }) as Promise<HistoryEntry[]>,
    subscribe,
    changes,
    stop: () => actor.stop('space.stop'),
  };
}

function connected(caller: Caller, name: string): VariablesHandle {
  return {
    async space(definition) {
      const handle = spaceHandle(caller, name, definition);
      await handle.get(); // starts the coordinator and loads the space now, so a bad store fails here
      return handle;
    },
    stop: (space) => TREES.stop(caller, name, space, 'variables.stop'),
  };
}

/** The variables subsystem: `Variables.start(rt, { store })` or `Variables.childSpec({ store })` in your tree. */
export const Variables = {
  /** The Variables subtree as a child of your supervisor. Throws VariableDefinitionError for a missing store. */
  childSpec(options: VariablesOptions, spec: Omit<ChildSpec, 'id' | 'start'> = {}): ChildSpec {
    return TREES.childSpec(options, spec);
  },

  /** Starts the Variables subtree outside a supervisor and resolves to its handle. */
  async start(caller: Caller, options: VariablesOptions): Promise<VariablesHandle> {
    return connected(caller, await TREES.start(caller, options, 'Variables.start'));
  },

  /** The handle on the Variables tree registered as `name` (default `Variables`). */
  connect(caller: Caller, name = 'Variables'): VariablesHandle {
    return connected(caller, name);
  },
};
