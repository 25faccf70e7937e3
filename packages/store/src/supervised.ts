// The store as a process of the application tree (DESIGN.md's `Store` child): a GenServer that opens the store
// in init (migrations included, so a supervisor start fails with the typed error) and closes it in terminate.
// Operations do not pass through its mailbox: `Store.connect` returns a Store that finds the live instance by
// name on each call and talks to the database directly, so a journal append costs no message round trip, and a
// restarted store is picked up without reconnecting.

import { GenServer, runtimeOf, type Caller, type ChildSpec, type GenServerBehavior, type Pid, type ProcessContext, type Runtime } from '@dspex/runtime';
import { StoreClosedError } from './errors.js';
import { openStore, type StoreOptions } from './open.js';
import type { Store as StoreContract } from './types.js';

/** Options of Store.childSpec / Store.start: the store's options plus the registered name (default `Store`). */
export type StoreChildOptions = StoreOptions & { name?: string };

interface Instance {
  pid: Pid;
  store: StoreContract;
}

/** The live store of each (runtime, name). A dead instance left here is closed by its successor's init. */
const instances = new WeakMap<Runtime, Map<string, Instance>>();

function table(runtime: Runtime): Map<string, Instance> {
  let byName = instances.get(runtime);
  if (byName === undefined) {
    byName = new Map();
    instances.set(runtime, byName);
  }
  return byName;
}

interface ServerState {
  name: string;
  store: StoreContract;
}

const behavior: GenServerBehavior<ServerState, StoreChildOptions, 'backend', string> = {
  async init(options: StoreChildOptions, self: ProcessContext) {
    const name = options.name ?? 'Store';
    const byName = table(runtimeOf(self));
    // A predecessor killed without terminate (brutal_kill) left its connection open.
    await byName.get(name)?.store.close();
    byName.delete(name);
    const { name: _name, ...storeOptions } = options;
    const store = await openStore(storeOptions as StoreOptions);
    byName.set(name, { pid: self.pid, store });
    return { ok: { name, store } };
  },
  handleCall(_request: 'backend', _from, state: ServerState) {
    return { reply: state.store.backend, state };
  },
  async terminate(_reason, state: ServerState, self: ProcessContext) {
    const byName = table(runtimeOf(self));
    if (byName.get(state.name)?.pid === self.pid) byName.delete(state.name);
    await state.store.close();
  },
};

function current(caller: Caller, name: string, operation: string): StoreContract {
  const runtime = runtimeOf(caller);
  const instance = table(runtime).get(name);
  if (instance === undefined || runtime.whereis(name) !== instance.pid || instance.store.closed) {
    throw new StoreClosedError(`${operation} on Store "${name}" (not running)`);
  }
  return instance.store;
}

/** A Store that resolves the live instance registered as `name` on every call. */
function connected(caller: Caller, name: string): StoreContract {
  const call =
    <K extends keyof StoreContract>(op: K) =>
    (...args: unknown[]): Promise<unknown> => {
      try {
        return (current(caller, name, op)[op] as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (error) {
        return Promise.reject(error);
      }
    };
  const kvCall =
    (op: keyof StoreContract['kv']) =>
    (...args: unknown[]): Promise<unknown> => {
      try {
        return (current(caller, name, `kv.${op}`).kv[op] as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (error) {
        return Promise.reject(error);
      }
    };
  const ops = ['createRun', 'getRun', 'loadRun', 'updateRun', 'listRuns', 'deleteRun', 'appendJournal', 'readJournal', 'loadSession', 'saveSession', 'appendTurn', 'readTurns', 'listIdle', 'deleteSession', 'schemaVersion'] as const;
  const handle: Record<string, unknown> = Object.fromEntries(ops.map((op) => [op, call(op)]));
  handle.kv = { get: kvCall('get'), put: kvCall('put'), delete: kvCall('delete'), list: kvCall('list') };
  Object.defineProperty(handle, 'backend', { get: () => current(caller, name, 'backend').backend, enumerable: true });
  Object.defineProperty(handle, 'closed', { get: () => table(runtimeOf(caller)).get(name)?.store.closed ?? true, enumerable: true });
  // Closing belongs to the supervisor: stopping the process closes the store.
  handle.close = () => GenServer.stop(caller, name, 'normal');
  return handle as unknown as StoreContract;
}

export const Store = {
  /**
   * The store as a supervised child (a worker registered as `name`, default `Store`, trapping exits so that
   * shutdown closes the database). Its start fails with the typed error of openStore (StoreSchemaTooNewError,
   * StoreUnavailableError, ...).
   */
  childSpec(options: StoreChildOptions, spec: Omit<ChildSpec, 'id' | 'start'> = {}): ChildSpec {
    const name = options.name ?? 'Store';
    return { shutdown: 10_000, ...spec, id: name, start: (parent) => GenServer.startLink(parent, behavior, options, { name, trapExit: true, label: name }) };
  },

  /** Starts the store process outside a supervisor and resolves to its connected Store. */
  async start(caller: Caller, options: StoreChildOptions): Promise<StoreContract> {
    const name = options.name ?? 'Store';
    const started = await GenServer.start(caller, behavior, options, { name, trapExit: true, label: name });
    if (!('ok' in started)) throw 'error' in started && started.error instanceof Error ? started.error : new StoreClosedError(`Store "${name}" did not start (${JSON.stringify(started)})`);
    return connected(caller, name);
  },

  /**
   * A Store bound to the process registered as `name`: each call goes to the live instance (the one after a
   * restart, too) or rejects with StoreClosedError while none runs. `close()` stops the process.
   */
  connect(caller: Caller, name = 'Store'): StoreContract {
    return connected(caller, name);
  },
};

/** A type with the contract's name, so `import { Store } from '@dspex/store'` gives both the value and the interface. */
export type Store = StoreContract;
