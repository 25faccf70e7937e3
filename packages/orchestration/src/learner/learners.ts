// Learners: the subtree that holds learners, and the handles that use them. Like Variables, it is rest_for_one:
// a Registry (learner actors by name, via-names) and a DynamicSupervisor of LearnerActors (transient: a crashed
// learner is restarted and reloads what it learned from the store). Event subscriptions live in the tree, so
// they survive an actor's restart.

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import { CallExitError, DynamicSupervisor, GenServer, NoProcError, Registry, Supervisor, runtimeOf, type Caller, type ChildSpec, type Pid, type Runtime } from '@dspex/runtime';
import { Store as SupervisedStore, type Store } from '@dspex/store';
import { LearnerActor, type LearnerReply, type LearnerRequest, type LearnerStats } from './actor.js';
import type { LearnerContext, LearnerDefinition } from './definition.js';
import { LearnerDefinitionError, LearnersNotRunningError } from './errors.js';
import type { Decision, Explanation, FeedbackResult, LearnerEvent } from './policy.js';

/** Options of Learners.start / childSpec. */
export interface LearnersOptions {
  /** Where learners persist: a Store (openStore) or the registered name of a supervised Store. Required. */
  store: Store | string;
  /** The registered name of the tree; its Registry and DynamicSupervisor take `${name}.Registry` / `.Supervisor`. Default `Learners`. */
  name?: string;
  /** The clock of TTLs and breaker cooldowns. Default Date.now. */
  clock?: () => number;
}

/** A request's telemetry, for report(). */
export interface RequestTelemetry {
  latencyMs?: number;
  cost?: number;
  error?: boolean;
}

/** The handle on one learner; every method goes through its actor. */
export interface Learner {
  readonly name: string;
  readonly definition: LearnerDefinition;
  /** Picks the arm for a request. `requestId` defaults to a random UUID. */
  choose(context: LearnerContext, options?: { requestId?: string }): Promise<Decision>;
  /** A request's latency, cost and error (from your telemetry). Rejects with LearnerUnknownRequestError for a dropped decision. */
  report(requestId: string, telemetry: RequestTelemetry): Promise<void>;
  /** The request's metric, late or not: applies the reward. `{ applied: false, reason }` when unknown (past TTL) or already given. */
  feedback(requestId: string, score: number): Promise<FeedbackResult>;
  /** Which arm, why, with the posterior used. Rejects with LearnerUnknownRequestError once the decision is dropped. */
  explain(requestId: string): Promise<Explanation>;
  /**
   * choose, then `fn(decision)` timed, then report (latency, `cost(result)`, and error when fn throws, which
   * rethrows). Resolves to the decision and fn's result; call feedback(decision.requestId, score) when the metric is known.
   */
  run<T>(context: LearnerContext, fn: (decision: Decision) => Promise<T>, options?: { cost?: (result: T) => number; requestId?: string }): Promise<{ decision: Decision; result: T }>;
  /** What it learned, per bucket and arm, and each arm's health. */
  stats(): Promise<LearnerStats>;
  /** Calls `listener` on every decision, reward, breaker transition and expiry; returns the unsubscribe function. */
  subscribe(listener: (event: LearnerEvent) => void): () => void;
  /** Stops the learner's actor (what it learned stays in the store; the next call starts it again). */
  stop(): Promise<void>;
}

/** The handle on a running Learners tree. */
export interface LearnersHandle {
  /** Starts (or finds) the actor of `definition`, loading what it learned from the store, and resolves to its handle. */
  learner(definition: LearnerDefinition): Promise<Learner>;
}

interface TreeConfig {
  store: Store;
  clock: () => number;
  registryName: string;
  supervisorName: string;
  events: EventEmitter<Record<string, [LearnerEvent]>>;
}

const TREES = new WeakMap<Runtime, Map<string, TreeConfig>>();

function treesOf(runtime: Runtime): Map<string, TreeConfig> {
  let trees = TREES.get(runtime);
  if (trees === undefined) TREES.set(runtime, (trees = new Map()));
  return trees;
}

function treeSpec(caller: Caller, options: LearnersOptions) {
  if (options === null || typeof options !== 'object' || options.store === undefined || options.store === null) {
    throw new LearnerDefinitionError('(tree)', 'Learners needs { store }: a learner persists what it learned. Pass await openStore({ sqlite: { dir } }) or the name of a supervised Store.');
  }
  const name = options.name ?? 'Learners';
  const store = typeof options.store === 'string' ? SupervisedStore.connect(caller, options.store) : options.store;
  const config: TreeConfig = { store, clock: options.clock ?? Date.now, registryName: `${name}.Registry`, supervisorName: `${name}.Supervisor`, events: new EventEmitter() };
  treesOf(runtimeOf(caller)).set(name, config);
  return {
    strategy: 'rest_for_one' as const,
    children: [
      Registry.childSpec({ keys: 'unique', name: config.registryName }),
      DynamicSupervisor.childSpec({}, { id: config.supervisorName, start: (parent) => DynamicSupervisor.startLink(parent, {}, { name: config.supervisorName }) }),
    ],
  };
}

/** How many times a request is sent again when it finds the actor gone (stopped or restarting). */
const MAX_REDIRECTS = 5;

function learnerHandle(caller: Caller, treeName: string, definition: LearnerDefinition): Learner {
  const name = definition.name;
  const config = (operation: string): TreeConfig => {
    const entry = treesOf(runtimeOf(caller)).get(treeName);
    if (entry === undefined || !runtimeOf(caller).whereis(entry.supervisorName)) throw new LearnersNotRunningError(treeName, operation);
    return entry;
  };
  const lookup = (cfg: TreeConfig): Pid | undefined => Registry.of<string, unknown>(caller, cfg.registryName).lookup(name)[0]?.[0];

  const ensure = async (cfg: TreeConfig): Promise<Pid> => {
    const existing = lookup(cfg);
    if (existing !== undefined) return existing;
    const started = await DynamicSupervisor.startChild(caller, cfg.supervisorName, {
      id: `learner:${name}`,
      restart: 'transient',
      start: (parent) =>
        GenServer.startLink(parent, LearnerActor, { definition, store: cfg.store, clock: cfg.clock, publish: (event) => cfg.events.emit(name, event) }, { name: Registry.of<string, unknown>(caller, cfg.registryName).via(name), label: 'LearnerActor' }),
    });
    if ('ok' in started && started.ok !== null) return started.ok;
    if ('error' in started && typeof started.error === 'object' && started.error !== null && 'alreadyStarted' in started.error) return (started.error as { alreadyStarted: Pid }).alreadyStarted;
    const reason = 'error' in started ? started.error : started;
    throw reason instanceof Error ? reason : new LearnersNotRunningError(treeName, `starting learner "${name}"`, { cause: reason });
  };

  const request = async (operation: string, message: LearnerRequest): Promise<unknown> => {
    for (let attempt = 0; ; attempt++) {
      const pid = await ensure(config(operation));
      let reply: LearnerReply;
      try {
        reply = await GenServer.call<LearnerReply>(caller, pid, message);
      } catch (error) {
        // choose is safe to send again (nothing was decided); report and feedback only when the actor was not there.
        const gone = error instanceof NoProcError || (error instanceof CallExitError && (message.op === 'choose' || message.op === 'explain' || message.op === 'stats'));
        if (gone && attempt < MAX_REDIRECTS) continue;
        throw error;
      }
      if ('error' in reply) throw reply.error;
      return reply.ok;
    }
  };

  const handle: Learner = {
    name,
    definition,
    choose: (context, options = {}) => request('learner.choose', { op: 'choose', context, requestId: options.requestId ?? randomUUID() }) as Promise<Decision>,
    report: async (requestId, telemetry) => void (await request('learner.report', { op: 'report', requestId, telemetry })),
    feedback: (requestId, score) => request('learner.feedback', { op: 'feedback', requestId, score }) as Promise<FeedbackResult>,
    explain: (requestId) => request('learner.explain', { op: 'explain', requestId }) as Promise<Explanation>,
    stats: () => request('learner.stats', { op: 'stats' }) as Promise<LearnerStats>,
    async run(context, fn, options = {}) {
      const decision = await handle.choose(context, options.requestId === undefined ? {} : { requestId: options.requestId });
      const started = performance.now();
      let result;
      try {
        result = await fn(decision);
      } catch (error) {
        await handle.report(decision.requestId, { latencyMs: performance.now() - started, error: true });
        throw error;
      }
      await handle.report(decision.requestId, { latencyMs: performance.now() - started, cost: options.cost?.(result) ?? 0, error: false });
      return { decision, result };
    },
    subscribe(listener) {
      const events = config('learner.subscribe').events;
      const safe = (event: LearnerEvent): void => {
        try {
          listener(event);
        } catch (error) {
          // A subscriber's failure must not reach the learner: report it and carry on.
          const pid = lookup(config('learner.subscribe'));
          if (pid !== undefined) runtimeOf(caller).telemetry.emit('internal_error', { error, pid });
        }
      };
      events.on(name, safe);
      return () => void events.off(name, safe);
    },
    async stop() {
      const cfg = config('learner.stop');
      const pid = lookup(cfg);
      if (pid !== undefined) await DynamicSupervisor.terminateChild(caller, cfg.supervisorName, pid).catch(() => undefined);
    },
  };
  return handle;
}

function connected(caller: Caller, name: string): LearnersHandle {
  return {
    async learner(definition) {
      const handle = learnerHandle(caller, name, definition);
      await handle.stats(); // starts the actor and loads it now, so a bad store fails here
      return handle;
    },
  };
}

/** The learners subsystem: `Learners.start(rt, { store })` or `Learners.childSpec({ store })` in your tree. */
export const Learners = {
  /** The Learners subtree as a child of your supervisor. */
  childSpec(options: LearnersOptions, spec: Omit<ChildSpec, 'id' | 'start'> = {}): ChildSpec {
    const name = options?.name ?? 'Learners';
    return { type: 'supervisor', ...spec, id: name, start: (parent) => Supervisor.startLink(parent, treeSpec(parent, options), { name: `${name}.Tree` }) };
  },

  /** Starts the Learners subtree outside a supervisor and resolves to its handle. */
  async start(caller: Caller, options: LearnersOptions): Promise<LearnersHandle> {
    const name = options?.name ?? 'Learners';
    const started = await Supervisor.start(caller, treeSpec(caller, options), { name: `${name}.Tree` });
    if (!('ok' in started)) throw new LearnersNotRunningError(name, 'Learners.start', { cause: 'error' in started ? started.error : started });
    return connected(caller, name);
  },

  /** The handle on the Learners tree registered as `name` (default `Learners`). */
  connect(caller: Caller, name = 'Learners'): LearnersHandle {
    return connected(caller, name);
  },
};
