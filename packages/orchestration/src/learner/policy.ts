// The learner's decisions and rewards, as transitions of its state (the actor in actor.ts serializes them and
// persists the result). choose: Thompson sampling per context bucket over the arms whose breaker lets them in,
// within the exploration budget, a half-open arm first for its probe. reward: an outcome through the objective
// into the bucket's and the arm's statistics. Pending decisions are bounded by a TTL and a count.

import type { Assignment } from '../variables/kinds.js';
import type { LearnerContext, LearnerDefinition, Outcome } from './definition.js';
import { newHealth, record, tick, type ArmHealth, type BreakerState, type BreakerTransition } from './health.js';
import { emptyStats, observe, posteriorOf, thompsonDraw, type ArmStats } from './posterior.js';
import { SeededRng } from './rng.js';

/** Why an arm was chosen. */
export type DecisionReason =
  /** its Thompson draw was the highest, and it also has the highest posterior mean */
  | 'exploit'
  /** its Thompson draw was the highest though another arm has a higher mean (spends exploration budget) */
  | 'explore'
  /** another arm drew higher, but the bucket's exploration budget is spent: the highest mean was taken */
  | 'budget_spent'
  /** a half-open arm's probe after its cooldown */
  | 'probe'
  /** every breaker is open: Thompson sampling among all arms */
  | 'all_open';

/** What choose() resolves to. */
export interface Decision {
  requestId: string;
  /** The arm's name and the decision variables' values it stands for. */
  arm: string;
  values: Assignment;
  bucket: string;
  reason: DecisionReason;
}

/** One arm as the decision saw it. */
export interface ArmView {
  arm: string;
  /** Posterior of the mean reward in the bucket. */
  mean: number;
  std: number;
  /** Effective (discounted) and total observations in the bucket. */
  n: number;
  count: number;
  /** The Thompson draw; null for arms left out (breaker open) or when no draw was needed. */
  draw: number | null;
  breaker: BreakerState;
}

/** explain(requestId): which arm, why, with the posterior the decision used. */
export interface Explanation extends Decision {
  at: number;
  /** One sentence. */
  why: string;
  posterior: ArmView[];
  /** The bucket's exploration so far and its budget, at decision time. */
  exploration: { explored: number; decisions: number; budget: number };
  outcome: Outcome | null;
  /** The reward the objective gave, once applied. */
  reward: number | null;
  status: 'pending' | 'rewarded' | 'expired';
}

/** What the learner persists: everything it learned. */
export interface PersistedLearner {
  format: 1;
  rng: number;
  decisions: number;
  buckets: Record<string, { decisions: number; explored: number; arms: Record<string, ArmStats> }>;
  /** Each arm's statistics over every bucket (the prior of a bucket that has not seen it). */
  global: Record<string, ArmStats>;
  health: Record<string, ArmHealth>;
}

interface PendingDecision {
  explanation: Explanation;
  probe: boolean;
  reported: boolean;
  feedback: boolean;
}

export interface LearnerState {
  definition: LearnerDefinition;
  learned: PersistedLearner;
  rng: SeededRng;
  /** Decisions by request id, oldest first (insertion order), kept for feedback and explain. */
  pending: Map<string, PendingDecision>;
}

/** The result of feedback(): applied, or why not. */
export type FeedbackResult =
  | { applied: true; reward: number }
  | { applied: false; reason: 'unknown' | 'duplicate' };

/** Events of a learner (learner.subscribe). */
export type LearnerEvent =
  | { type: 'decision'; decision: Decision }
  | { type: 'reward'; requestId: string; arm: string; bucket: string; reward: number; outcome: Outcome }
  | ({ type: 'breaker'; arm: string; at: number } & BreakerTransition)
  | { type: 'expired'; requestId: string; arm: string };

export function initialLearned(definition: LearnerDefinition): PersistedLearner {
  return { format: 1, rng: definition.seed >>> 0, decisions: 0, buckets: {}, global: {}, health: {} };
}

export function newState(definition: LearnerDefinition, learned: PersistedLearner): LearnerState {
  for (const arm of definition.arms) learned.health[arm.name] ??= newHealth(definition.anomaly);
  return { definition, learned, rng: new SeededRng(learned.rng), pending: new Map() };
}

/** Drops decisions past their TTL or beyond the bound; a dropped probe counts as a failed one. */
export function sweep(state: LearnerState, now: number, emit: (event: LearnerEvent) => void): void {
  const { ttlMs, max } = state.definition.pending;
  for (const [id, entry] of state.pending) {
    const expired = now - entry.explanation.at > ttlMs;
    if (!expired && state.pending.size <= max) break; // insertion order: the rest are younger
    state.pending.delete(id);
    if (entry.explanation.status === 'pending') {
      entry.explanation.status = 'expired';
      emit({ type: 'expired', requestId: id, arm: entry.explanation.arm });
    }
    if (entry.probe && !entry.reported) {
      const health = state.learned.health[entry.explanation.arm]!;
      const transition = record(health, { latencyMs: health.latencyMean, error: true }, true, now, state.definition.anomaly);
      if (transition !== undefined) emit({ type: 'breaker', arm: entry.explanation.arm, at: now, ...transition });
    }
  }
}

function views(state: LearnerState, bucket: string): ArmView[] {
  const stats = state.learned.buckets[bucket]?.arms ?? {};
  return state.definition.arms.map(({ name }) => {
    const p = posteriorOf(stats[name], state.learned.global[name], state.definition.prior);
    return { arm: name, mean: p.mean, std: p.std, n: p.n, count: p.count, draw: null, breaker: state.learned.health[name]!.breaker };
  });
}

/** Observations of an arm in a bucket below which exploring it costs no budget. */
const MIN_OBSERVATIONS = 10;

/** Each arm's posterior in a bucket, as choose() would see it now (without drawing). */
export function choosePreview(state: LearnerState, bucket: string): ArmView[] {
  return views(state, bucket);
}

const best = (arms: ArmView[], by: (a: ArmView) => number): ArmView => arms.reduce((a, b) => (by(b) > by(a) ? b : a));

/** Chooses an arm for a request. */
export function choose(state: LearnerState, context: LearnerContext, requestId: string, now: number, emit: (event: LearnerEvent) => void): Decision {
  const { definition, learned } = state;
  sweep(state, now, emit);
  for (const arm of definition.arms) {
    const transition = tick(learned.health[arm.name]!, now);
    if (transition !== undefined) emit({ type: 'breaker', arm: arm.name, at: now, ...transition });
  }
  const bucketName = definition.bucket(context);
  const bucket = (learned.buckets[bucketName] ??= { decisions: 0, explored: 0, arms: {} });
  const arms = views(state, bucketName);
  const exploration = { explored: bucket.explored, decisions: bucket.decisions, budget: definition.explorationBudget };

  let chosen: ArmView;
  let reason: DecisionReason;
  const probing = arms.find((a) => a.breaker === 'half_open' && learned.health[a.arm]!.probesInFlight + learned.health[a.arm]!.probesPassed < definition.anomaly.probes);
  const open = arms.filter((a) => a.breaker !== 'closed');
  const eligible = arms.filter((a) => a.breaker === 'closed');
  if (probing !== undefined) {
    chosen = probing;
    reason = 'probe';
    learned.health[chosen.arm]!.probesInFlight++;
  } else {
    // Every breaker open is an outage of the whole pool, not evidence against one arm: choose among them all.
    const candidates = eligible.length > 0 ? eligible : arms;
    for (const a of candidates) a.draw = thompsonDraw(a, state.rng);
    const drawn = best(candidates, (a) => a.draw!);
    const greedy = best(candidates, (a) => a.mean);
    // An arm seen fewer than MIN_OBSERVATIONS times in the bucket may always be explored: a budget that starts
    // binding after one unlucky answer would lock the bucket onto whichever arm was lucky first.
    const allowance = definition.explorationBudget * bucket.decisions + definition.arms.length;
    if (eligible.length === 0) [chosen, reason] = [drawn, 'all_open'];
    else if (drawn === greedy) [chosen, reason] = [drawn, 'exploit'];
    else if (bucket.explored < allowance || drawn.count < MIN_OBSERVATIONS) [chosen, reason] = [drawn, 'explore'];
    else [chosen, reason] = [greedy, 'budget_spent'];
  }
  bucket.decisions++;
  if (reason === 'explore' && chosen.count >= MIN_OBSERVATIONS) bucket.explored++;
  learned.decisions++;
  learned.rng = state.rng.state;

  const values = definition.arms.find((a) => a.name === chosen.arm)!.values;
  const decision: Decision = { requestId, arm: chosen.arm, values: structuredClone(values), bucket: bucketName, reason };
  const runnerUp = arms.filter((a) => a !== chosen && a.draw !== null);
  const why =
    reason === 'probe' ? `${chosen.arm} is half-open after its cooldown: this request probes it`
    : reason === 'all_open' ? `every arm's breaker is open, so all were drawn from; ${chosen.arm} drew ${chosen.draw!.toFixed(3)}`
    : reason === 'budget_spent' ? `${chosen.arm} has the highest posterior mean (${chosen.mean.toFixed(3)}); another arm drew higher but the bucket's exploration budget (${definition.explorationBudget}) is spent`
    : `${chosen.arm} drew ${chosen.draw!.toFixed(3)} from N(${chosen.mean.toFixed(3)}, ${chosen.std.toFixed(3)}²)` +
      (runnerUp.length > 0 ? `, above ${runnerUp.map((a) => `${a.arm} ${a.draw!.toFixed(3)}`).join(', ')}` : '') +
      (reason === 'explore' ? ' (exploring: its mean is not the highest)' : '') +
      (open.length > 0 ? `; left out with open breakers: ${open.map((a) => a.arm).join(', ')}` : '');
  state.pending.set(requestId, {
    explanation: { ...decision, at: now, why, posterior: arms, exploration, outcome: null, reward: null, status: 'pending' },
    probe: reason === 'probe',
    reported: false,
    feedback: false,
  });
  emit({ type: 'decision', decision });
  return decision;
}

function applyReward(state: LearnerState, entry: PendingDecision, emit: (event: LearnerEvent) => void): number {
  const { definition, learned } = state;
  const e = entry.explanation;
  const outcome = e.outcome!;
  const reward = definition.objective(outcome);
  const bucket = (learned.buckets[e.bucket] ??= { decisions: 0, explored: 0, arms: {} });
  bucket.arms[e.arm] = observe(bucket.arms[e.arm] ?? emptyStats(), reward, definition.discount);
  learned.global[e.arm] = observe(learned.global[e.arm] ?? emptyStats(), reward, definition.discount);
  e.reward = reward;
  e.status = 'rewarded';
  emit({ type: 'reward', requestId: e.requestId, arm: e.arm, bucket: e.bucket, reward, outcome: { ...outcome } });
  return reward;
}

/** Records a request's telemetry; returns whether the learned state changed (a reward or a breaker). */
export function report(state: LearnerState, requestId: string, telemetry: { latencyMs?: number; cost?: number; error?: boolean }, now: number, emit: (event: LearnerEvent) => void): 'unknown' | 'duplicate' | 'changed' | 'recorded' {
  const entry = state.pending.get(requestId);
  if (entry === undefined) return 'unknown';
  if (entry.reported) return 'duplicate';
  entry.reported = true;
  const e = entry.explanation;
  e.outcome = { quality: e.outcome?.quality ?? null, cost: telemetry.cost ?? 0, latencyMs: telemetry.latencyMs ?? 0, error: telemetry.error ?? false };
  let changed = false;
  if (telemetry.latencyMs !== undefined || telemetry.error !== undefined) {
    const transition = record(state.learned.health[e.arm]!, { latencyMs: e.outcome.latencyMs, error: e.outcome.error }, entry.probe, now, state.definition.anomaly);
    if (transition !== undefined) emit({ type: 'breaker', arm: e.arm, at: now, ...transition });
    changed = true;
  }
  // An errored request gets no feedback worth waiting for; otherwise the reward waits for the metric.
  if (e.status === 'pending' && (e.outcome.error || !state.definition.awaitFeedback)) applyReward(state, entry, emit);
  return changed || e.status === 'rewarded' ? 'changed' : 'recorded';
}

/** Records a request's metric, late or not, and applies the reward with the telemetry reported so far (report first). */
export function feedback(state: LearnerState, requestId: string, score: number, emit: (event: LearnerEvent) => void): FeedbackResult {
  const entry = state.pending.get(requestId);
  if (entry === undefined) return { applied: false, reason: 'unknown' };
  if (entry.feedback || entry.explanation.status !== 'pending') return { applied: false, reason: 'duplicate' };
  entry.feedback = true;
  const e = entry.explanation;
  e.outcome = { quality: score, cost: e.outcome?.cost ?? 0, latencyMs: e.outcome?.latencyMs ?? 0, error: e.outcome?.error ?? false };
  return { applied: true, reward: applyReward(state, entry, emit) };
}

export function explain(state: LearnerState, requestId: string): Explanation | undefined {
  const entry = state.pending.get(requestId);
  return entry === undefined ? undefined : structuredClone(entry.explanation);
}
