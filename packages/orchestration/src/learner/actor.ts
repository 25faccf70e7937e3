// LearnerActor: one GenServer per learner, under the Learners DynamicSupervisor and registered in its Registry
// by learner name. It serializes choose / report / feedback / explain on the learner's state (policy.ts) and
// writes what it learned (posteriors, exploration counts, arm health, the RNG state) to the store before it
// replies to a call that changed it, so a restarted learner (a crash, a new process) draws from the same
// posterior. Decisions still waiting for feedback live only here: a restart drops them. What the store holds
// from another definition is refused or explicitly forgotten on start (policy.adopt), never used as it is.

import type { GenServerBehavior } from '@dspex/runtime';
import { StoreConflictError, type JsonValue, type Store } from '@dspex/store';
import type { LearnerContext, LearnerDefinition } from './definition.js';
import { LearnerUnknownRequestError } from './errors.js';
import * as policy from './policy.js';
import type { ArmHealth } from './health.js';

export type LearnerRequest =
  | { op: 'choose'; context: LearnerContext; requestId: string }
  | { op: 'report'; requestId: string; telemetry: { latencyMs?: number; cost?: number; error?: boolean } }
  | { op: 'feedback'; requestId: string; score: number }
  | { op: 'explain'; requestId: string }
  | { op: 'stats' };

export type LearnerReply = { ok: unknown } | { error: unknown };

export interface LearnerArgs {
  definition: LearnerDefinition;
  store: Store;
  clock: () => number;
  publish: (event: policy.LearnerEvent) => void;
}

interface ActorState extends LearnerArgs {
  core: policy.LearnerState;
  /** The kv version of the `state` row (0: never written). */
  rowVersion: number;
}

/** What learner.stats() resolves to: everything learned, per bucket and arm. */
export interface LearnerStats {
  learner: string;
  decisions: number;
  pending: number;
  buckets: Record<string, { decisions: number; explored: number; arms: policy.ArmView[] }>;
  health: Record<string, ArmHealth>;
}

/** The store namespace of a learner: `learner:<name>`, holding `state`. */
export function learnerNamespace(name: string): string {
  return `learner:${name}`;
}

async function persist(state: ActorState): Promise<void> {
  const ns = learnerNamespace(state.definition.name);
  const value = state.core.learned as unknown as JsonValue;
  try {
    state.rowVersion = await state.store.kv.put(ns, 'state', value, state.rowVersion);
  } catch (error) {
    if (!(error instanceof StoreConflictError)) throw error;
    // Another process runs the same learner: the last writer wins (one learner per name is the supported setup).
    state.rowVersion = await state.store.kv.put(ns, 'state', value, (await state.store.kv.get(ns, 'state'))?.version ?? 0);
  }
}

function stats(state: ActorState): LearnerStats {
  const { core } = state;
  const buckets: LearnerStats['buckets'] = {};
  for (const [name, bucket] of Object.entries(core.learned.buckets)) {
    const probe = policy.choosePreview(core, name);
    buckets[name] = { decisions: bucket.decisions, explored: bucket.explored, arms: probe };
  }
  return { learner: state.definition.name, decisions: core.learned.decisions, pending: core.pending.size, buckets, health: structuredClone(core.learned.health) };
}

/** The actor of one learner. */
export const LearnerActor: GenServerBehavior<ActorState, LearnerArgs, LearnerRequest, LearnerReply> = {
  async init(args) {
    const row = await args.store.kv.get(learnerNamespace(args.definition.name), 'state');
    // Learned under another definition (an arm's values or the reward changed): refused, or forgotten and written now.
    const { learned, forgot } = policy.adopt(args.definition, row?.value as unknown as policy.PersistedLearner | undefined);
    const state: ActorState = { ...args, core: policy.newState(args.definition, learned), rowVersion: row?.version ?? 0 };
    if (forgot) await persist(state);
    return { ok: state };
  },

  async handleCall(request, _from, state) {
    const now = state.clock();
    try {
      switch (request.op) {
        case 'choose':
          return { reply: { ok: policy.choose(state.core, request.context, request.requestId, now, state.publish) }, state };
        case 'report': {
          const result = policy.report(state.core, request.requestId, request.telemetry, now, state.publish);
          if (result === 'unknown') return { reply: { error: new LearnerUnknownRequestError(state.definition.name, request.requestId) }, state };
          if (result === 'changed') await persist(state);
          return { reply: { ok: result !== 'duplicate' }, state };
        }
        case 'feedback': {
          policy.sweep(state.core, now, state.publish);
          const result = policy.feedback(state.core, request.requestId, request.score, state.publish);
          if (result.applied) await persist(state);
          return { reply: { ok: result }, state };
        }
        case 'explain': {
          policy.sweep(state.core, now, state.publish);
          const explanation = policy.explain(state.core, request.requestId);
          return { reply: explanation === undefined ? { error: new LearnerUnknownRequestError(state.definition.name, request.requestId) } : { ok: explanation }, state };
        }
        case 'stats':
          return { reply: { ok: stats(state) }, state };
      }
    } catch (error) {
      return { reply: { error }, state };
    }
  },
};
