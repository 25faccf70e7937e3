// The application's stateful parts (DESIGN.md's Store, Sessions, Variables, Orchestrator and Pipelines
// children): which of them the options ask for, their child specs in the tree's order (the store first, what
// persists to it after), and the handle's accessors, which find each part by its registered name and so follow
// the tree across restarts. Absent options start nothing: a program that never uses them opens no store.

import { DSPexError, Supervisor, type ChildSpec, type Runtime } from '@dspex/runtime';
import { Store as SupervisedStore, type Store, type StoreOptions } from '@dspex/store';
import type { Affinity, DefaultPoolName, PythonPool } from '@dspex/python-bridge';
import { Sessions, type SessionsHandle, type SessionsOptions } from '../sessions/index.js';
import { PIPELINES_SUPERVISOR, PipelineRunner, Pipelines, type Pipeline } from '../pipelines/index.js';
import { Variables, type SpaceDefinition, type VariableSpace } from '../variables/index.js';
import { Learners, type Learner, type LearnerDefinition } from '../learner/index.js';

/** Sessions options in the application: those of Sessions.start, the store being the application's. */
export interface AppSessionsOptions extends Omit<SessionsOptions, 'store' | 'name' | 'python'> {
  /** A Python pool for context.python(): one of the application's pools by name (`'general'`), or any pool. */
  python?: { pool: DefaultPoolName | PythonPool; affinity?: Affinity };
}

/** Pipelines options in the application. */
export interface AppPipelinesOptions {
  /** The pipelines `app.pipelines.resume(runId)` can find by name (start() registers its pipeline too). */
  pipelines?: readonly Pipeline[];
}

/** The stateful parts of DSPexOptions. Each is left out unless given. */
export interface DSPexPartsOptions {
  /**
   * The Store child: `{ sqlite: { dir } }` or `{ postgres: { connectionString } }` opens a store with the tree
   * (migrations included) and closes it when the tree stops; a Store you opened is used as it is and stays
   * yours to close. Sessions, variables and the learner persist to it; pipeline runs are journaled in it.
   */
  store?: StoreOptions | Store;
  /** Session actors (`app.sessions`); needs `store`. `true`: the defaults of Sessions. */
  sessions?: AppSessionsOptions | boolean;
  /** Variable spaces (`app.variables(definition)`); needs `store`. */
  variables?: { clock?: () => number } | boolean;
  /** Learners under the Orchestrator (`app.learner(definition)`); needs `store`. */
  learner?: { clock?: () => number } | boolean;
  /** The Pipelines supervisor and a runner whose runs sit under it (`app.pipelines`), durable when there is a store. */
  pipelines?: AppPipelinesOptions | boolean;
}

/** The parts of the handle that reach the stateful children. Each throws DSPexConfigError when its part was not asked for. */
export interface DSPexParts {
  /** The application's store: the live Store child (following its restarts), or the Store you passed. */
  readonly store: Store;
  /** The Sessions tree's handle. */
  readonly sessions: SessionsHandle;
  /** A PipelineRunner whose runs are children of the Pipelines supervisor, journaled in the store when there is one. */
  readonly pipelines: PipelineRunner;
  /** Starts (or finds) the coordinator of `definition`'s space under Variables and resolves to its handle. */
  variables(definition: SpaceDefinition): Promise<VariableSpace>;
  /** Starts (or finds) the actor of `definition` under Orchestrator / Learners and resolves to its handle. */
  learner(definition: LearnerDefinition): Promise<Learner>;
}

/** DSPex options the application cannot use (found before anything starts), or a part used that was not asked for. */
export class DSPexConfigError extends DSPexError {
  readonly code = 'DSPEX_APP_CONFIG';
  constructor(
    readonly option: string,
    problem: string,
  ) {
    super(`DSPex option ${option}: ${problem}`);
  }
}

/** Registered names of the parts in the application (their child ids are the design's: Store, Sessions, ...). */
export const APP_PART_NAMES = { store: 'dspex.store', sessions: 'dspex.sessions', variables: 'dspex.variables', learners: 'dspex.learners', pipelines: PIPELINES_SUPERVISOR } as const;

const NEEDS_STORE = 'needs a store, since it persists there: add store: { sqlite: { dir } } (or { postgres: { connectionString } }, or a Store you opened).';

function isStore(value: object): value is Store {
  const candidate = value as Partial<Store>;
  return typeof candidate.appendTurn === 'function' && typeof candidate.createRun === 'function' && typeof candidate.kv === 'object';
}

function enabled<T extends object>(option: T | boolean | undefined): T | undefined {
  if (option === undefined || option === false) return undefined;
  return option === true ? ({} as T) : option;
}

/** Checks the options, and builds the parts' child specs (in the tree's order) and their handle. */
export function appParts(rt: Runtime, options: DSPexPartsOptions, pools: Partial<Record<DefaultPoolName, PythonPool>>): { children: ChildSpec[]; parts: DSPexParts } {
  const names = APP_PART_NAMES;
  const children: ChildSpec[] = [];

  let store: Store | string | undefined;
  if (options.store !== undefined) {
    const given = options.store as unknown;
    if (given === null || typeof given !== 'object') throw new DSPexConfigError('store', `pass { sqlite: { dir } }, { postgres: { connectionString } } or a Store, not ${String(given)}.`);
    if (isStore(given)) store = given;
    else {
      const storeOptions = given as StoreOptions;
      if ((storeOptions.sqlite === undefined) === (storeOptions.postgres === undefined)) throw new DSPexConfigError('store', 'pass exactly one of { sqlite: { dir } } (embedded) or { postgres: { connectionString } }, or a Store you opened.');
      children.push({ ...SupervisedStore.childSpec({ ...storeOptions, name: names.store }), id: 'Store' });
      store = names.store;
    }
  }
  const needStore = (option: string): Store | string => {
    if (store === undefined) throw new DSPexConfigError(option, NEEDS_STORE);
    return store;
  };

  const sessions = enabled(options.sessions);
  if (sessions !== undefined) {
    const { python, ...rest } = sessions;
    let pythonOption: SessionsOptions['python'];
    if (python !== undefined) {
      const pool = typeof python.pool === 'string' ? pools[python.pool] : python.pool;
      if (pool === undefined) throw new DSPexConfigError('sessions.python.pool', `the application has no pool '${String(python.pool)}': name one it starts (pools.${String(python.pool)} is false), or pass a PythonPool.`);
      pythonOption = { pool, ...(python.affinity === undefined ? {} : { affinity: python.affinity }) };
    }
    const spec = Sessions.childSpec({ ...rest, store: needStore('sessions'), name: names.sessions, ...(pythonOption === undefined ? {} : { python: pythonOption }) });
    children.push({ ...spec, id: 'Sessions' });
  }

  const variables = enabled(options.variables);
  if (variables !== undefined) children.push({ ...Variables.childSpec({ ...variables, store: needStore('variables'), name: names.variables }), id: 'Variables' });

  const learner = enabled(options.learner);
  if (learner !== undefined) {
    const learners = { ...Learners.childSpec({ ...learner, store: needStore('learner'), name: names.learners }), id: 'Learners' };
    children.push(Supervisor.childSpec('Orchestrator', { strategy: 'one_for_one', children: [learners] }));
  }

  const pipelines = enabled(options.pipelines);
  let runner: PipelineRunner | undefined;
  if (pipelines !== undefined) {
    children.push(Pipelines.childSpec({ name: names.pipelines }));
    const journal = typeof store === 'string' ? SupervisedStore.connect(rt, store) : store;
    runner = new PipelineRunner(rt, { supervisor: names.pipelines, ...(journal === undefined ? {} : { store: journal }), ...(pipelines.pipelines === undefined ? {} : { pipelines: pipelines.pipelines }) });
  }

  const missing = (option: string, what: string) => new DSPexConfigError(option, `${what} is not part of this application: pass ${option}: {} (or true) to DSPex.start / DSPex.childSpec${option === 'pipelines' ? '' : ', with a store'}.`);
  const connectedStore = typeof store === 'string' ? SupervisedStore.connect(rt, store) : store;
  const parts: DSPexParts = {
    get store() {
      if (connectedStore === undefined) throw missing('store', 'a store');
      return connectedStore;
    },
    get sessions() {
      if (sessions === undefined) throw missing('sessions', 'Sessions');
      return Sessions.connect(rt, names.sessions);
    },
    get pipelines() {
      if (runner === undefined) throw missing('pipelines', 'Pipelines');
      return runner;
    },
    variables(definition) {
      if (variables === undefined) return Promise.reject(missing('variables', 'Variables'));
      return Variables.connect(rt, names.variables).space(definition);
    },
    learner(definition) {
      if (learner === undefined) return Promise.reject(missing('learner', 'the learner'));
      return Learners.connect(rt, names.learners).learner(definition);
    },
  };
  return { children, parts };
}
