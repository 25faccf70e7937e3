// The DSPex application: one supervision tree for everything a program needs (DESIGN.md). A crash anywhere
// is contained by the nearest supervisor. Sessions, variables, the orchestrator and pipelines join this tree
// as they are built; today it holds the registry, the LM clients, the Python pools with the embedded model in
// the Neural subtree, and the signature engine.

import { Registry, Supervisor, formatTree, supervisionTree, type Caller, type ChildSpec, type Pid, runtimeOf } from '@dspex/runtime';
import { PythonPools, type PoolOptions, type PythonPool } from '@dspex/python-bridge';
import { LM, lmSupervisorSpec, type LMHandle, type LMStartOptions } from './clients/lm.js';
import { LocalLM, type LocalLMOptions } from './local_lm/local_lm.js';
import { findLocalModel } from './local_lm/model_path.js';
import { SignatureEngine } from './signatures/engine.js';

type PoolName = 'general' | 'optimizer' | 'neural';

export interface DSPexOptions {
  /** LM clients to run under the LM supervisor (hosted providers, or any OpenAI-compatible server). */
  lms?: LMStartOptions[];
  /**
   * The embedded SmolLM2 server under Neural, and a client for it named `local` (default: on when the
   * model file is found, see findLocalModel). false turns it off.
   */
  localModel?: LocalLMOptions | false;
  /** The default pools; false leaves one out. Options are merged over the pool defaults. */
  pools?: Partial<Record<PoolName, Partial<PoolOptions> | false>>;
  /** Worker threads of the signature engine (default 2); false leaves it out. */
  signatureEngine?: { threads?: number } | false;
}

export interface DSPexApp {
  readonly supervisor: Pid;
  readonly pools: Partial<Record<PoolName, PythonPool>>;
  /** Names of the LM clients, `local` first when the embedded model runs. */
  readonly lmNames: string[];
  /** The client named `name` (default: the first), following it across restarts. */
  lm(name?: string): Promise<LMHandle>;
  engine(): SignatureEngine | undefined;
  /** The live tree, rendered. */
  tree(): Promise<string>;
  stop(): Promise<void>;
}

const APP_NAME = 'dspex.application';
const ENGINE_NAME = 'dspex.signature_engine';
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

export const DSPex = {
  /**
   * Starts the application tree and resolves once every child is up (the Python workers and the local
   * model come up concurrently after that; calls wait for them). Rejects when the tree fails to start.
   */
  async start(caller: Caller, options: DSPexOptions = {}): Promise<DSPexApp> {
    const rt = runtimeOf(caller);
    const local = options.localModel === false ? null : (options.localModel ?? {});
    const withLocal = local !== null && localModelAvailable(local);
    const localClient = withLocal ? [{ ...LocalLM.clientOptions(local.name ?? 'LocalLM'), name: LOCAL_LM_CLIENT }] : [];
    const lms = [...localClient, ...(options.lms ?? [])];

    const pools: Partial<Record<PoolName, PythonPool>> = {};
    const poolSpec = (name: PoolName, defaults: Partial<PoolOptions>): ChildSpec | null => {
      const overrides = options.pools?.[name];
      if (overrides === false) return null;
      const { spec, pool } = PythonPools.childSpec(rt, { ...defaults, ...overrides, name });
      pools[name] = pool;
      return spec;
    };
    const general = poolSpec('general', { size: 2 });
    const optimizer = poolSpec('optimizer', { size: 1, callTimeoutMs: 30 * 60_000, queueTimeoutMs: 60_000 });
    const neural = poolSpec('neural', { size: 1, devices: 'auto', start: 'lazy' });
    const neuralChildren = [neural, withLocal ? LocalLM.childSpec(local) : null].filter((c): c is ChildSpec => c !== null);

    const children: ChildSpec[] = [
      Registry.childSpec({ keys: 'unique', name: 'dspex.registry' }, { id: 'Registry' }),
      lmSupervisorSpec(lms),
      Supervisor.childSpec('Pools', {
        strategy: 'one_for_one',
        children: [general, optimizer, Supervisor.childSpec('Neural', { strategy: 'one_for_one', children: neuralChildren })].filter((c): c is ChildSpec => c !== null),
      }),
    ];
    const engineOptions = options.signatureEngine;
    if (engineOptions !== false) children.push(SignatureEngine.childSpec('SignatureEngine', { name: ENGINE_NAME, threads: engineOptions?.threads ?? 2 }));

    const started = await Supervisor.start(rt, { strategy: 'one_for_one', intensity: 3, period: 5, children }, { name: APP_NAME });
    if (!('ok' in started)) throw new Error(`the DSPex application failed to start: ${JSON.stringify(started, (_k, v: unknown) => (v instanceof Error ? v.message : v))}`);
    const supervisor = started.ok;
    const lmNames = lms.map((o) => o.name ?? o.model);
    return {
      supervisor,
      pools,
      lmNames,
      lm: (name = lmNames[0]) => {
        if (name === undefined) return Promise.reject(new Error('no LM is configured: pass options.lms, or install the embedded model (scripts/setup-python.sh).'));
        return LM.connect(rt, name);
      },
      engine: () => (engineOptions === false ? undefined : SignatureEngine.attach(rt, ENGINE_NAME, engineOptions?.threads ?? 2)),
      tree: async () => formatTree(await supervisionTree(rt, supervisor, 'DSPex.Application')),
      stop: () => Supervisor.stop(rt, supervisor, 'shutdown'),
    };
  },
};
