// The DSPex application: one supervision tree for everything a program needs (DESIGN.md). A crash anywhere
// is contained by the nearest supervisor. It holds the registry, the LM clients, the Python pools with the
// embedded model in the Neural subtree and the signature engine, then, when the options ask for them, the
// store, sessions, variables, the orchestrator's learners and pipelines (parts.ts). `DSPex.start` runs it on
// its own; `DSPex.childSpec` places the same tree under a supervisor of yours. Both build it with appTree().

import { DSPexError, Registry, Supervisor, formatTree, runtimeOf, supervisionTree, type Caller, type ChildSpec, type Pid, type Runtime, type SupervisorSpec } from '@dspex/runtime';
import { DEFAULT_POOL_OPTIONS, PythonPools, type DefaultPoolName, type PoolOptions, type PythonPool } from '@dspex/python-bridge';
import { LocalLM, findLocalModel, type LocalLMOptions } from '@dspex/local-lm';
import { LM, SignatureEngine, lmSupervisorSpec, type LMHandle, type LMStartOptions } from 'dspex';
import { appParts, type DSPexParts, type DSPexPartsOptions } from './parts.js';

type PoolName = DefaultPoolName;

/**
 * Options of `DSPex.start`: extra LM clients, the embedded model, the pools and the signature engine (each may be
 * `false`), and the stateful parts, started only when given: store, sessions, variables, learner, pipelines.
 */
export interface DSPexOptions extends DSPexPartsOptions {
  /** LM clients to run under the LM supervisor (hosted providers, or any OpenAI-compatible server). */
  lms?: LMStartOptions[];
  /**
   * The embedded SmolLM2 server under Neural, and a client for it named `local` (default: on when the
   * model file is found, see findLocalModel). false turns it off.
   */
  localModel?: LocalLMOptions | false;
  /**
   * The default pools (DEFAULT_POOL_OPTIONS of @dspex/python-bridge: all lazy, so no Python process starts
   * before the first call); false leaves one out. Options are merged over the defaults.
   */
  pools?: Partial<Record<PoolName, Partial<PoolOptions> | false>>;
  /** Worker threads of the signature engine (default 2); false leaves it out. */
  signatureEngine?: { threads?: number } | false;
}

/** The running application's parts. From DSPex.childSpec it follows the tree across restarts by name. */
export interface DSPexHandle extends DSPexParts {
  /** The application supervisor (the current one, after a restart by your supervisor). DSPexNotRunning if none. */
  readonly supervisor: Pid;
  readonly pools: Partial<Record<PoolName, PythonPool>>;
  /** Names of the LM clients, `local` first when the embedded model runs. */
  readonly lmNames: string[];
  /** The client named `name` (default: the first), following it across restarts. NoLMConfigured when none. */
  lm(name?: string): Promise<LMHandle>;
  engine(): SignatureEngine | undefined;
  /** The live tree, rendered. */
  tree(): Promise<string>;
}

/** An application started by DSPex.start: its handle, and stop. */
export interface DSPexApp extends DSPexHandle {
  /** Stops the tree and waits until every process is gone, Python workers and the model server included. */
  stop(): Promise<void>;
}

/** The application tree did not start (a child failed in its init); `cause` holds the supervisor's answer. */
export class DSPexStartError extends DSPexError {
  readonly code = 'DSPEX_APP_START';
  constructor(readonly reason: unknown) {
    super(`the DSPex application failed to start: ${describe(reason)}. The child named there failed in its init; fix its options, or leave it out (pools.<name>: false, localModel: false; store, sessions, variables, learner, pipelines are started only when given).`, { cause: reason });
  }
}

/** app.lm() with no LM configured. */
export class NoLMConfigured extends DSPexError {
  readonly code = 'DSPEX_NO_LM';
  constructor() {
    super('no LM is configured: pass options.lms, or install the embedded model (scripts/setup-python.sh).');
  }
}

/** The application supervisor is not running (not started yet, stopped, or given up by your supervisor). */
export class DSPexNotRunning extends DSPexError {
  readonly code = 'DSPEX_APP_NOT_RUNNING';
  constructor() {
    super(`the DSPex application (${APP_NAME}) is not running: start it with DSPex.start, or start the supervisor holding DSPex.childSpec.`);
  }
}

function describe(reason: unknown): string {
  return JSON.stringify(reason, (_k, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v)) ?? String(reason);
}

const APP_NAME = 'dspex.application';
const ENGINE_NAME = 'dspex.signature_engine';
/** Name of the LM client of the embedded model in the application (`app.lm('local')`). */
export const LOCAL_LM_CLIENT = 'local';

function localModelAvailable(options: LocalLMOptions): boolean {
  if (options.modelPath !== undefined) return true;
  try {
    findLocalModel();
    return true;
  } catch {
    return false;
  }
}

/** The application's supervisor spec and the handle parts that do not need it running. */
function appTree(rt: Runtime, options: DSPexOptions): { tree: SupervisorSpec; handle: (supervisor: () => Pid) => DSPexHandle } {
  const local = options.localModel === false ? null : (options.localModel ?? {});
  const withLocal = local !== null && localModelAvailable(local);
  const localClient = withLocal ? [{ ...LocalLM.clientOptions(local.name ?? 'LocalLM'), name: LOCAL_LM_CLIENT }] : [];
  const lms = [...localClient, ...(options.lms ?? [])];

  const pools: Partial<Record<PoolName, PythonPool>> = {};
  const poolSpec = (name: PoolName): ChildSpec | null => {
    const overrides = options.pools?.[name];
    if (overrides === false) return null;
    const { spec, pool } = PythonPools.childSpec(rt, { ...DEFAULT_POOL_OPTIONS[name], ...overrides, name });
    pools[name] = pool;
    return spec;
  };
  const present = (c: ChildSpec | null): c is ChildSpec => c !== null;
  const general = poolSpec('general');
  const optimizer = poolSpec('optimizer');
  const neural = poolSpec('neural');
  const neuralChildren = [neural, withLocal ? LocalLM.childSpec(local) : null].filter(present);

  const children: ChildSpec[] = [
    Registry.childSpec({ keys: 'unique', name: 'dspex.registry' }, { id: 'Registry' }),
    lmSupervisorSpec(lms),
    Supervisor.childSpec('Pools', { strategy: 'one_for_one', children: [general, optimizer, Supervisor.childSpec('Neural', { strategy: 'one_for_one', children: neuralChildren })].filter(present) }),
  ];
  const engineOptions = options.signatureEngine;
  if (engineOptions !== false) children.push(SignatureEngine.childSpec('SignatureEngine', { name: ENGINE_NAME, threads: engineOptions?.threads ?? 2 }));
  const { children: partChildren, parts } = appParts(rt, options, pools);
  children.push(...partChildren);

  const lmNames = lms.map((o) => o.name ?? o.model);
  const handle = (supervisor: () => Pid): DSPexHandle => {
    const own = {
      get supervisor() {
        return supervisor();
      },
      pools,
      lmNames,
      lm: (name = lmNames[0]) => (name === undefined ? Promise.reject(new NoLMConfigured()) : LM.connect(rt, name)),
      engine: () => (engineOptions === false ? undefined : SignatureEngine.attach(rt, ENGINE_NAME, engineOptions?.threads ?? 2)),
      tree: async () => formatTree(await supervisionTree(rt, supervisor(), 'DSPex.Application')),
    };
    // The parts' accessors are getters that throw when a part was not asked for: copy them, do not read them.
    return Object.defineProperties(own, Object.getOwnPropertyDescriptors(parts)) as DSPexHandle;
  };
  return { tree: { strategy: 'one_for_one', intensity: 3, period: 5, children }, handle };
}

/** The DSPex application: `DSPex.start(rt, options)` starts the supervision tree (registry, LM clients, Python pools, the embedded model, the signature engine) and returns its handle. */
export const DSPex = {
  /**
   * Starts the application tree and resolves once every child is up. The Python pools are lazy: a worker
   * starts on the first call that needs it; the local model comes up concurrently (calls wait for it).
   * Rejects with DSPexConfigError for options it cannot use (nothing started), DSPexStartError when the tree
   * fails to start. It sets nothing in dspex's process-wide settings (several applications, on several
   * runtimes, may share a process): `configure({ lm, runtime: rt })` makes evaluate() and BootstrapFewShot run
   * their tasks on the application's runtime.
   */
  async start(caller: Caller, options: DSPexOptions = {}): Promise<DSPexApp> {
    const rt = runtimeOf(caller);
    const { tree, handle } = appTree(rt, options);
    const started = await Supervisor.start(rt, tree, { name: APP_NAME });
    if (!('ok' in started)) throw new DSPexStartError('error' in started ? started.error : started);
    const supervisor = started.ok;
    return Object.assign(handle(() => supervisor), { stop: () => Supervisor.stop(rt, supervisor, 'shutdown') });
  },

  /**
   * The application as a child of your own supervisor (id `DSPex`, a supervisor child with an infinite shutdown,
   * so your supervisor waits until Python workers and the model server are gone), and a handle to its parts
   * that follows the tree across restarts. Stop it by stopping your supervisor or terminating the child.
   * Throws DSPexConfigError for options it cannot use.
   *
   * ```ts
   * const { spec, app } = DSPex.childSpec(rt, { pools: { optimizer: false } });
   * await Supervisor.start(rt, { strategy: 'one_for_one', children: [httpServerSpec, spec] });
   * const lm = await app.lm();
   * ```
   */
  childSpec(caller: Caller, options: DSPexOptions = {}, spec: Partial<Omit<ChildSpec, 'start' | 'type'>> = {}): { spec: ChildSpec; app: DSPexHandle } {
    const rt = runtimeOf(caller);
    const { tree, handle } = appTree(rt, options);
    const child: ChildSpec = { id: 'DSPex', shutdown: 'infinity', ...spec, type: 'supervisor', start: (parent) => Supervisor.startLink(parent, tree, { name: APP_NAME }) };
    const app = handle(() => {
      const pid = rt.whereis(APP_NAME);
      if (pid === undefined) throw new DSPexNotRunning();
      return pid;
    });
    return { spec: child, app };
  },
};
