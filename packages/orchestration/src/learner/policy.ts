// The learner's decisions and rewards, as transitions of its state (the actor in actor.ts serializes them and
// persists the result). choose: Thompson sampling per context bucket over the arms whose breaker lets them in,
// within the exploration budget, a half-open arm first for its probe. reward: an outcome through the objective
// into the bucket's and the arm's statistics. Pending decisions are bounded by a TTL and a count.

import { describeValue, type Assignment } from '../variables/kinds.js';
import type { LearnerContext, LearnerDefinition, Outcome } from './definition.js';
import { rewardMeaning } from './definition.js';
import { LearnerStoredStateError, LearnerValueError } from './errors.js';
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
  /** While pending: what the reward still waits for (the feedback, the report, or both). */
  waitingFor: RewardPart[];
}

/** The parts of a request's outcome a reward can wait for: the metric (feedback) and the telemetry (report). */
export type RewardPart = 'feedback' | 'report';

/** What the learner persists: everything it learned. */
export interface PersistedLearner {
  format: 1;
  rng: number;
  decisions: number;
  buckets: Record<string, { decisions: number; explored: number; arms: Record<string, ArmStats> }>;
  /** Each arm's statistics over every bucket (the prior of a bucket that has not seen it). */
  global: Record<string, ArmStats>;
  health: Record<string, ArmHealth>;
  /**
   * The definition this was learned under: every arm's values (arms since removed included) and what a reward
   * means (rewardMeaning). Absent in state written before it was recorded (then recorded at the next write).
   */
  definition?: { arms: Record<string, Assignment>; reward: string };
}

interface PendingDecision {
  explanation: Explanation;
  probe: boolean;
  reported: boolean;
  feedback: boolean;
  /** The metric from feedback, once given. */
  quality: number | null;
  /** The telemetry from report, once given. */
  telemetry: { cost: number; latencyMs: number; error: boolean } | null;
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
  | { applied: false; reason: 'unknown' | 'duplicate' }
  /** Recorded: the reward waits for the request's report (awaitReport), which applies it. */
  | { applied: false; reason: 'awaiting_report' };

/** Events of a learner (learner.subscribe). */
export type LearnerEvent =
  | { type: 'decision'; decision: Decision }
  | { type: 'reward'; requestId: string; arm: string; bucket: string; reward: number; outcome: Outcome }
  | ({ type: 'breaker'; arm: string; at: number } & BreakerTransition)
  /** A decision dropped (TTL or pending bound) before its reward: `missing` is what the reward still waited for. */
  | { type: 'expired'; requestId: string; arm: string; missing: RewardPart[] };

export function initialLearned(definition: LearnerDefinition): PersistedLearner {
  return { format: 1, rng: definition.seed >>> 0, decisions: 0, buckets: {}, global: {}, health: {} };
}

/** The record of `definition` kept with what it learns; arms of `previous` records it no longer has stay recorded. */
function definitionRecord(definition: LearnerDefinition, previous: PersistedLearner['definition']): NonNullable<PersistedLearner['definition']> {
  return { arms: { ...previous?.arms, ...Object.fromEntries(definition.arms.map((a) => [a.name, structuredClone(a.values)])) }, reward: rewardMeaning(definition) };
}

/**
 * What a learner starts from, given what the store holds (`stored`, learned under the definition it records):
 * as it is when nothing it relies on changed (arms added or removed, other options are fine); otherwise what
 * the change invalidates is forgotten (onDefinitionChange 'forget': `forgot` true) or LearnerStoredStateError.
 */
export function adopt(definition: LearnerDefinition, stored: PersistedLearner | undefined): { learned: PersistedLearner; forgot: boolean } {
  if (stored === undefined) return { learned: { ...initialLearned(definition), definition: definitionRecord(definition, undefined) }, forgot: false };
  const learned = structuredClone(stored);
  const before = stored.definition;
  const changedArms = before === undefined ? [] : definition.arms.filter((a) => Object.hasOwn(before.arms, a.name) && JSON.stringify(before.arms[a.name]) !== JSON.stringify(a.values));
  const rewardChanged = before !== undefined && before.reward !== rewardMeaning(definition);
  learned.definition = definitionRecord(definition, before);
  if (changedArms.length === 0 && !rewardChanged) return { learned, forgot: false };
  if (definition.onDefinitionChange !== 'forget') {
    const changes = changedArms.map((a) => `arm "${a.name}" was ${JSON.stringify(before!.arms[a.name])}, now ${JSON.stringify(a.values)}`);
    if (rewardChanged) changes.push(`the reward was ${before!.reward}, now ${rewardMeaning(definition)} (its posteriors are on another scale)`);
    throw new LearnerStoredStateError(definition.name, changes);
  }
  const forget = new Set(rewardChanged ? Object.keys(learned.definition.arms) : changedArms.map((a) => a.name));
  for (const bucket of Object.values(learned.buckets)) for (const arm of forget) delete bucket.arms[arm];
  for (const arm of forget) delete learned.global[arm];
  for (const arm of changedArms) delete learned.health[arm.name]; // its telemetry was another arm's
  return { learned, forgot: true };
}

export function newState(definition: LearnerDefinition, learned: PersistedLearner): LearnerState {
  for (const arm of definition.arms) {
    const health = (learned.health[arm.name] ??= newHealth(definition.anomaly));
    health.latencySamples ??= health.observations; // saved before latency samples were counted apart
  }
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
      const missing = waitingFor(state, entry);
      entry.explanation.status = 'expired';
      entry.explanation.waitingFor = [];
      emit({ type: 'expired', requestId: id, arm: entry.explanation.arm, missing });
    }
    if (entry.probe && !entry.reported) {
      const health = state.learned.health[entry.explanation.arm]!;
      const transition = record(health, { error: true }, true, now, state.definition.anomaly);
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

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Why `context` cannot be bucketed, or undefined. */
function contextProblem(context: unknown): string | undefined {
  if (!isRecord(context)) return `a context is an object ({ task, signature, input, features }), not ${describeValue(context)}`;
  for (const key of ['task', 'signature'] as const) if (context[key] !== undefined && typeof context[key] !== 'string') return `context.${key} must be a string, not ${describeValue(context[key])}`;
  if (context.input !== undefined && typeof context.input !== 'string' && !isRecord(context.input)) return `context.input must be a string or a record, not ${describeValue(context.input)}`;
  if (context.features === undefined) return undefined;
  if (!isRecord(context.features)) return `context.features must be a record of strings, finite numbers and booleans, not ${describeValue(context.features)}`;
  for (const [key, value] of Object.entries(context.features)) {
    const ok = typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
    if (!ok) return `context.features.${key} must be a string, a finite number or a boolean, not ${describeValue(value)}`;
  }
  return undefined;
}

/** The bucket of a valid request, or a LearnerValueError (nothing has changed yet). */
function bucketOf(state: LearnerState, context: LearnerContext, requestId: string): string {
  const name = state.definition.name;
  if (typeof requestId !== 'string' || requestId === '') throw new LearnerValueError(name, `a request id is a non-empty string, not ${describeValue(requestId)}`);
  if (state.pending.has(requestId)) throw new LearnerValueError(name, `request "${requestId}" was already chosen and is still held (for its report, feedback and explain): give each request its own id (or leave requestId out for a random one)`);
  const problem = contextProblem(context);
  if (problem !== undefined) throw new LearnerValueError(name, problem);
  let bucket: unknown;
  try {
    bucket = state.definition.bucket(context);
  } catch (error) {
    throw new LearnerValueError(name, `its bucket function threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (typeof bucket !== 'string' || bucket === '') throw new LearnerValueError(name, `its bucket function must return a non-empty string, not ${describeValue(bucket)}`);
  return bucket;
}

/** Chooses an arm for a request. Throws LearnerValueError (nothing changed) for a bad context or request id. */
export function choose(state: LearnerState, context: LearnerContext, requestId: string, now: number, emit: (event: LearnerEvent) => void): Decision {
  const { definition, learned } = state;
  sweep(state, now, emit);
  const bucketName = bucketOf(state, context, requestId);
  for (const arm of definition.arms) {
    const transition = tick(learned.health[arm.name]!, now);
    if (transition !== undefined) emit({ type: 'breaker', arm: arm.name, at: now, ...transition });
  }
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
  const entry: PendingDecision = {
    explanation: { ...decision, at: now, why, posterior: arms, exploration, outcome: null, reward: null, status: 'pending', waitingFor: [] },
    probe: reason === 'probe',
    reported: false,
    feedback: false,
    quality: null,
    telemetry: null,
  };
  entry.explanation.waitingFor = waitingFor(state, entry);
  state.pending.set(requestId, entry);
  emit({ type: 'decision', decision });
  return decision;
}

/** The objective's reward for an outcome; a LearnerValueError when it throws or is not a finite number. */
function rewardOf(state: LearnerState, outcome: Outcome): number {
  let reward: unknown;
  try {
    reward = state.definition.objective({ ...outcome });
  } catch (error) {
    throw new LearnerValueError(state.definition.name, `its objective threw: ${error instanceof Error ? error.message : String(error)}; nothing was applied`, { cause: error });
  }
  if (typeof reward !== 'number' || !Number.isFinite(reward)) {
    throw new LearnerValueError(state.definition.name, `its objective returned ${describeValue(reward)} for ${JSON.stringify(outcome)}, not a finite number; nothing was applied`);
  }
  return reward;
}

/** What a pending decision's reward still waits for: feedback (awaitFeedback) and the report (awaitReport) not yet given. */
function waitingFor(state: LearnerState, entry: PendingDecision, given: { feedback?: boolean; reported?: boolean } = {}): RewardPart[] {
  const parts: RewardPart[] = [];
  if (state.definition.awaitFeedback && !(entry.feedback || given.feedback)) parts.push('feedback');
  if (state.definition.awaitReport && !(entry.reported || given.reported)) parts.push('report');
  return parts;
}

/** The outcome from the parts given so far, whatever order they came in. */
function outcomeOf(quality: number | null, telemetry: PendingDecision['telemetry']): Outcome {
  return { quality, cost: telemetry?.cost ?? 0, latencyMs: telemetry?.latencyMs ?? 0, error: telemetry?.error ?? false };
}

function applyReward(state: LearnerState, entry: PendingDecision, reward: number, emit: (event: LearnerEvent) => void): number {
  const { definition, learned } = state;
  const e = entry.explanation;
  const bucket = (learned.buckets[e.bucket] ??= { decisions: 0, explored: 0, arms: {} });
  bucket.arms[e.arm] = observe(bucket.arms[e.arm] ?? emptyStats(), reward, definition.discount);
  learned.global[e.arm] = observe(learned.global[e.arm] ?? emptyStats(), reward, definition.discount);
  e.reward = reward;
  e.status = 'rewarded';
  e.waitingFor = [];
  emit({ type: 'reward', requestId: e.requestId, arm: e.arm, bucket: e.bucket, reward, outcome: { ...e.outcome! } });
  return reward;
}

/** Why `telemetry` is not a request's telemetry, or undefined. */
function telemetryProblem(telemetry: unknown): string | undefined {
  if (!isRecord(telemetry)) return `telemetry is an object ({ latencyMs, cost, error }), not ${describeValue(telemetry)}`;
  const { latencyMs, cost, error } = telemetry;
  if (latencyMs !== undefined && !(typeof latencyMs === 'number' && Number.isFinite(latencyMs) && latencyMs >= 0)) return `latencyMs must be a finite number >= 0, not ${describeValue(latencyMs)}`;
  if (cost !== undefined && !(typeof cost === 'number' && Number.isFinite(cost))) return `cost must be a finite number, not ${describeValue(cost)}`;
  if (error !== undefined && typeof error !== 'boolean') return `error must be a boolean, not ${describeValue(error)}`;
  return undefined;
}

/**
 * Records a request's telemetry; returns whether the learned state changed (a reward or a breaker). The reward is
 * applied here when this was the last part it waited for, or when the request errored (no feedback is worth
 * waiting for then). Throws LearnerValueError (nothing changed) for telemetry that is not finite numbers, or an
 * objective that fails.
 */
export function report(state: LearnerState, requestId: string, telemetry: { latencyMs?: number; cost?: number; error?: boolean }, now: number, emit: (event: LearnerEvent) => void): 'unknown' | 'duplicate' | 'changed' | 'recorded' {
  const problem = telemetryProblem(telemetry);
  if (problem !== undefined) throw new LearnerValueError(state.definition.name, `report("${requestId}"): ${problem}`);
  const entry = state.pending.get(requestId);
  if (entry === undefined) return 'unknown';
  if (entry.reported) return 'duplicate';
  const e = entry.explanation;
  const given = { cost: telemetry.cost ?? 0, latencyMs: telemetry.latencyMs ?? 0, error: telemetry.error ?? false };
  const outcome = outcomeOf(entry.quality, given);
  const rewardNow = e.status === 'pending' && (given.error || waitingFor(state, entry, { reported: true }).length === 0);
  const reward = rewardNow ? rewardOf(state, outcome) : undefined; // before any change: a failing objective changes nothing
  entry.reported = true;
  entry.telemetry = given;
  e.outcome = outcome;
  if (e.status === 'pending') e.waitingFor = waitingFor(state, entry);
  let changed = false;
  if (telemetry.latencyMs !== undefined || telemetry.error !== undefined) {
    const sample = telemetry.latencyMs === undefined ? { error: outcome.error } : { latencyMs: telemetry.latencyMs, error: outcome.error };
    const transition = record(state.learned.health[e.arm]!, sample, entry.probe, now, state.definition.anomaly);
    if (transition !== undefined) emit({ type: 'breaker', arm: e.arm, at: now, ...transition });
    changed = true;
  }
  if (reward !== undefined) applyReward(state, entry, reward, emit);
  return changed || reward !== undefined ? 'changed' : 'recorded';
}

/**
 * Records a request's metric, late or not, and applies the reward with the telemetry reported so far, or, when
 * the reward waits for a report not given yet, leaves it to the report (`awaiting_report`), so the reward is the
 * same in either order. Throws LearnerValueError (nothing changed) for a score that is not a finite number, or
 * an objective that fails.
 */
export function feedback(state: LearnerState, requestId: string, score: number, emit: (event: LearnerEvent) => void): FeedbackResult {
  if (typeof score !== 'number' || !Number.isFinite(score)) throw new LearnerValueError(state.definition.name, `feedback("${requestId}"): a score is a finite number (the metric, 0..1 by convention), not ${describeValue(score)}`);
  const entry = state.pending.get(requestId);
  if (entry === undefined) return { applied: false, reason: 'unknown' };
  if (entry.feedback || entry.explanation.status !== 'pending') return { applied: false, reason: 'duplicate' };
  const e = entry.explanation;
  const outcome = outcomeOf(score, entry.telemetry);
  const waiting = waitingFor(state, entry, { feedback: true });
  const reward = waiting.length === 0 ? rewardOf(state, outcome) : undefined;
  entry.feedback = true;
  entry.quality = score;
  e.outcome = outcome;
  e.waitingFor = waiting;
  return reward === undefined ? { applied: false, reason: 'awaiting_report' } : { applied: true, reward: applyReward(state, entry, reward, emit) };
}

export function explain(state: LearnerState, requestId: string): Explanation | undefined {
  const entry = state.pending.get(requestId);
  return entry === undefined ? undefined : structuredClone(entry.explanation);
}
