// Learners: the subtree that holds learners, and the handles that use them. Like Variables, it is rest_for_one:
// a Registry (learner actors by name, via-names) and a DynamicSupervisor of LearnerActors (transient: a crashed
// learner is restarted and reloads what it learned from the store). Event subscriptions live in the tree, so
// they survive an actor's restart.

import { randomUUID } from 'node:crypto';
import { GenServer, type Caller, type ChildSpec } from '@dspex/runtime';
import type { Store } from '@dspex/store';
import { actorTrees } from '../actor_tree/actor_tree.js';
import { LearnerActor, type LearnerReply, type LearnerRequest, type LearnerStats } from './actor.js';
import { learnerFingerprint, type LearnerContext, type LearnerDefinition } from './definition.js';
import { LearnerDefinitionError, LearnerDefinitionMismatchError, LearnersNotRunningError } from './errors.js';
import { differences } from '../actor_tree/fingerprint.js';
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
  /**
   * The request's metric, late or not: applies the reward, or, when the reward waits for the report
   * (awaitReport) that has not come yet, records it (`{ applied: false, reason: 'awaiting_report' }`) and the
   * report applies it. `{ applied: false, reason }` when unknown (past TTL) or already given.
   */
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
  /**
   * Starts (or finds) the actor of `definition`, loading what it learned from the store, and resolves to its
   * handle. Rejects with LearnerDefinitionMismatchError when the learner runs with another definition (compared
   * by structure, functions by source text), and LearnerStoredStateError when the store holds what it learned
   * under a definition with other arm values or another reward (unless onDefinitionChange is 'forget').
   */
  learner(definition: LearnerDefinition): Promise<Learner>;
  /** Stops the actor of the learner named `name`, if running, whatever its definition (what it learned stays in the store). */
  stop(name: string): Promise<void>;
}

const TREES = actorTrees<LearnerEvent>({
  defaultName: 'Learners',
  missingStore: () => new LearnerDefinitionError('(tree)', 'Learners needs { store }: a learner persists what it learned. Pass await openStore({ sqlite: { dir } }) or the name of a supervised Store.'),
  notRunning: (treeName, operation, options) => new LearnersNotRunningError(treeName, operation, options),
});

function learnerHandle(caller: Caller, treeName: string, definition: LearnerDefinition): Learner {
  const name = definition.name;
  const fingerprint = learnerFingerprint(definition);
  const actor = TREES.actor<LearnerRequest, LearnerReply>(caller, treeName, name, {
    id: `learner:${name}`,
    restart: 'transient',
    start: (parent, cfg, via, publish) => GenServer.startLink(parent, LearnerActor, { definition, store: cfg.store, clock: cfg.clock, publish }, { name: via, label: 'LearnerActor' }),
    failed: (reason) => new LearnersNotRunningError(treeName, `starting learner "${name}"`, { cause: reason }),
    definition: { fingerprint, mismatch: (running) => new LearnerDefinitionMismatchError(name, differences(running, fingerprint)) },
  });
  // choose is safe to send again (nothing was decided); report and feedback only when the actor was not there.
  const request = (operation: string, message: LearnerRequest): Promise<unknown> =>
    actor.request(operation, message, (sent) => sent.op === 'choose' || sent.op === 'explain' || sent.op === 'stats');

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
    subscribe: (listener) => actor.subscribe('learner.subscribe', listener),
    stop: () => actor.stop('learner.stop'),
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
    stop: (learner) => TREES.stop(caller, name, learner, 'learners.stop'),
  };
}

/** The learners subsystem: `Learners.start(rt, { store })` or `Learners.childSpec({ store })` in your tree. */
export const Learners = {
  /** The Learners subtree as a child of your supervisor. */
  childSpec(options: LearnersOptions, spec: Omit<ChildSpec, 'id' | 'start'> = {}): ChildSpec {
    return TREES.childSpec(options, spec);
  },

  /** Starts the Learners subtree outside a supervisor and resolves to its handle. */
  async start(caller: Caller, options: LearnersOptions): Promise<LearnersHandle> {
    return connected(caller, await TREES.start(caller, options, 'Learners.start'));
  },

  /** The handle on the Learners tree registered as `name` (default `Learners`). */
  connect(caller: Caller, name = 'Learners'): LearnersHandle {
    return connected(caller, name);
  },
};
