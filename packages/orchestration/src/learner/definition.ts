// A learner's definition: its arms (every combination of the decision variables' values, or named
// assignments), how a request's context becomes a bucket, the objective that turns an outcome into a reward,
// and the bandit's options. `defineLearner` checks it once, as `defineSpace` does for variable spaces.

import { createHash } from 'node:crypto';
import type { JsonValue } from '@dspex/store';
import { domainOf } from '../optimize/samplers.js';
import { describeValue, jsonProblem, type Assignment, type VariableSpec } from '../variables/kinds.js';
import { LearnerDefinitionError } from './errors.js';
import { VariableDefinitionError } from '../variables/errors.js';
import { defineSpace } from '../variables/space.js';
import { DEFAULT_ANOMALY, type AnomalyOptions } from './health.js';
import type { Prior } from './posterior.js';
import { fingerprintOf, type Fingerprint } from '../actor_tree/fingerprint.js';

/** What the learner knows about a request when it chooses. */
export interface LearnerContext {
  /** A task tag (`'math'`, `'extract'`). */
  task?: string;
  /** The signature the request runs (its string form). */
  signature?: string;
  /** The request's input, for its length (a string, or a record measured as JSON). */
  input?: string | Record<string, unknown>;
  /** Whatever else the user knows (tier, language); numbers go into power-of-two buckets. */
  features?: Record<string, string | number | boolean>;
}

/** What happened to a request: the metric from feedback, and latency, cost and errors from telemetry. */
export interface Outcome {
  /** The metric from feedback (0..1 by convention), null when none arrived yet (or the objective runs without it). */
  quality: number | null;
  /** In the caller's unit (USD, tokens, the servers' units); 0 when not reported. */
  cost: number;
  latencyMs: number;
  error: boolean;
}

/** The weights of the default objective: quality − costWeight·cost − latencyWeight·latencyMs − (error ? errorPenalty : 0). */
export interface ObjectiveWeights {
  costWeight?: number;
  latencyWeight?: number;
  errorPenalty?: number;
}

/** What defineLearner takes: the decisions (or named arms), the objective, buckets, exploration and anomaly options. */
export interface LearnerOptions {
  /** Decision variables (any kind of src/variables with a finite domain): every combination is an arm. */
  decisions?: Record<string, VariableSpec>;
  /** Or named arms, each an assignment of the decision variables. */
  arms?: Record<string, Assignment>;
  /** A reward from an outcome (higher is better), or the default objective's weights. Default `{ costWeight: 0 }`. */
  objective?: ((outcome: Outcome) => number) | ObjectiveWeights;
  /** The most a bucket may spend on exploration: the share of decisions that differ from its best mean. Default 0.1. */
  explorationBudget?: number;
  /** Observations after which an old reward weighs half (forgetting, for drift). Default 40; Infinity never forgets. */
  halfLife?: number;
  /** The prior of an arm nobody has observed. Default `{ mean: 1, variance: 0.25, weight: 1 }`: untried arms look good. */
  prior?: Partial<Prior>;
  /** Anomaly detection and breakers (see health.ts). */
  anomaly?: Partial<AnomalyOptions>;
  /** Decisions waiting for feedback: dropped after `ttlMs` (default 10 min) or beyond `max` (default 10,000), oldest first. */
  pending?: { ttlMs?: number; max?: number };
  /** Whether a reward waits for feedback (default true); false rewards each request when its telemetry is reported. */
  awaitFeedback?: boolean;
  /**
   * Whether a reward waits for the request's report (latency, cost, error), so feedback that arrives first does
   * not reward without them. Default: true when the objective reads telemetry (a function, or a non-zero
   * costWeight, latencyWeight or errorPenalty); false for quality alone. Set false for a function objective
   * that reads only quality, or when you never report.
   */
  awaitReport?: boolean;
  /**
   * What a learner does when the store holds what it learned under another definition (an arm's values or the
   * reward changed): 'refuse' (default, LearnerStoredStateError) or 'forget' what the change invalidates.
   */
  onDefinitionChange?: 'refuse' | 'forget';
  /** The RNG seed (default 0): the same seed and requests give the same choices. */
  seed?: number;
  /** The bucket of a context (default: task, signature, input length class and features, joined). */
  bucket?: (context: LearnerContext) => string;
}

/** A learner as defineLearner checked it: its name, arms in order, objective and options. */
export interface LearnerDefinition {
  readonly name: string;
  /** Arm names in order, with their assignments. */
  readonly arms: ReadonlyArray<{ name: string; values: Assignment }>;
  readonly objective: (outcome: Outcome) => number;
  /** The default objective's weights, or null for a function objective. */
  readonly objectiveWeights: Readonly<Required<ObjectiveWeights>> | null;
  readonly explorationBudget: number;
  /** Per-observation decay of older rewards, from halfLife. */
  readonly discount: number;
  readonly prior: Prior;
  readonly anomaly: AnomalyOptions;
  readonly pending: { ttlMs: number; max: number };
  readonly awaitFeedback: boolean;
  /** Whether a reward waits for the report (see LearnerOptions.awaitReport; resolved). */
  readonly awaitReport: boolean;
  readonly onDefinitionChange: 'refuse' | 'forget';
  readonly seed: number;
  readonly bucket: (context: LearnerContext) => string;
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

const LENGTH_CLASSES: ReadonlyArray<readonly [number, string]> = [[64, 'xs'], [256, 's'], [1024, 'm'], [4096, 'l']];

/** The default bucket: `task=math|sig=question -> answer|len=s|tier=pro`, each part present only when known. */
export function defaultBucket(context: LearnerContext): string {
  const parts: string[] = [`task=${context.task ?? '*'}`];
  if (context.signature !== undefined) parts.push(`sig=${context.signature}`);
  if (context.input !== undefined) {
    const length = typeof context.input === 'string' ? context.input.length : JSON.stringify(context.input).length;
    parts.push(`len=${LENGTH_CLASSES.find(([max]) => length <= max)?.[1] ?? 'xl'}`);
  }
  for (const [key, value] of Object.entries(context.features ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    parts.push(`${key}=${typeof value === 'number' ? `2^${value <= 0 ? '-' : Math.floor(Math.log2(value))}` : String(value)}`);
  }
  return parts.join('|');
}

/** The default objective over weights. An errored request has quality 0. */
export function weightedObjective(weights: ObjectiveWeights = {}): (outcome: Outcome) => number {
  const { costWeight = 0, latencyWeight = 0, errorPenalty = 0 } = weights;
  return (o) => (o.error ? 0 : (o.quality ?? 0)) - costWeight * o.cost - latencyWeight * o.latencyMs - (o.error ? errorPenalty : 0);
}

const armName = (values: Assignment): string => Object.entries(values).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(',');

/**
 * Defines a learner. Throws LearnerDefinitionError when it has no arms (or both `decisions` and `arms`), an arm
 * that is not a JSON record, a decision variable without a finite domain (text without candidates; a float
 * without step is 5 points), or an option out of range (non-finite weights or prior, anomaly options that could
 * never close a breaker, a pending bound below 1).
 */
export function defineLearner(name: string, options: LearnerOptions): LearnerDefinition {
  const refuse = (problem: string): never => {
    throw new LearnerDefinitionError(name, problem);
  };
  if (typeof name !== 'string' || name === '') refuse('a learner needs a non-empty name');
  if (options === null || typeof options !== 'object') refuse(`options must be an object ({ decisions } or { arms }, objective, ...), not ${describeValue(options)}`);
  if ((options.decisions === undefined) === (options.arms === undefined)) refuse('give exactly one of `decisions` (variables whose combinations are the arms) or `arms` (named assignments)');
  let arms: Array<{ name: string; values: Assignment }>;
  if (options.arms !== undefined) {
    if (!isRecord(options.arms)) refuse(`arms must be a record of named assignments ({ small: { model: 'small' } }), not ${describeValue(options.arms)}`);
    arms = Object.entries(options.arms).map(([armName, values]) => {
      if (!isRecord(values)) refuse(`arm "${armName}" must be an assignment of the decision variables (a record), not ${describeValue(values)}`);
      const problem = jsonProblem(values, `arm "${armName}"`);
      if (problem !== undefined) refuse(problem);
      return { name: armName, values };
    });
  } else {
    if (!isRecord(options.decisions) || Object.keys(options.decisions).length === 0) refuse('decisions must name at least one decision variable ({ model: variable.lm({ choices }) })');
    try {
      defineSpace(name, { variables: options.decisions! }); // each decision is checked as a variable of a space is
    } catch (error) {
      if (error instanceof VariableDefinitionError) refuse(`decision ${error.message.slice(error.message.indexOf('variable "'))}`);
      throw error;
    }
    arms = [{ name: '', values: {} }];
    for (const [variable, spec] of Object.entries(options.decisions!)) {
      const domain = domainOf(spec, 5);
      if (domain === undefined || domain.length === 0) refuse(`decision "${variable}" (${spec.kind}) has no finite set of values to choose among: give it choices, candidates or a step`);
      arms = arms.flatMap((arm) => domain!.map((value: JsonValue) => ({ name: '', values: { ...arm.values, [variable]: value } })));
    }
    arms = arms.map((arm) => ({ name: armName(arm.values), values: arm.values }));
  }
  if (arms.length < 1) refuse('it has no arms to choose among');
  const budget = options.explorationBudget ?? 0.1;
  if (!(budget >= 0 && budget <= 1)) refuse(`explorationBudget must be a share in [0, 1], not ${budget}`);
  const halfLife = options.halfLife ?? 40;
  if (!(halfLife > 0)) refuse(`halfLife must be a positive number of observations (Infinity never forgets), not ${halfLife}`);
  const prior: Prior = { mean: 1, variance: 0.25, weight: 1, ...options.prior };
  if (!(Number.isFinite(prior.mean) && Number.isFinite(prior.variance) && Number.isFinite(prior.weight) && prior.variance > 0 && prior.weight > 0)) {
    refuse(`prior needs a finite mean and a finite positive variance and weight, not ${describeValue(prior)}`);
  }
  if (options.objective !== undefined && typeof options.objective !== 'function') {
    if (!isRecord(options.objective)) refuse(`objective must be a function (outcome) => number or weights { costWeight, latencyWeight, errorPenalty }, not ${describeValue(options.objective)}`);
    for (const [key, weight] of Object.entries(options.objective)) {
      if (!['costWeight', 'latencyWeight', 'errorPenalty'].includes(key)) refuse(`objective weights are costWeight, latencyWeight and errorPenalty, not "${key}"`);
      if (typeof weight !== 'number' || !Number.isFinite(weight)) refuse(`objective.${key} must be a finite number, not ${describeValue(weight)}`);
    }
  }
  const objective = typeof options.objective === 'function' ? options.objective : weightedObjective(options.objective);
  const pending = { ttlMs: options.pending?.ttlMs ?? 600_000, max: options.pending?.max ?? 10_000 };
  if (!(pending.ttlMs > 0)) refuse(`pending.ttlMs must be a positive number of ms (Infinity keeps decisions until pending.max), not ${describeValue(pending.ttlMs)}`);
  if (!(pending.max === Infinity || (Number.isInteger(pending.max) && pending.max >= 1))) refuse(`pending.max must be a whole number >= 1, not ${describeValue(pending.max)}`);
  const anomaly: AnomalyOptions = { ...DEFAULT_ANOMALY, ...options.anomaly };
  const anomalyProblem = anomalyOptionsProblem(anomaly);
  if (anomalyProblem !== undefined) refuse(`anomaly.${anomalyProblem}`);
  const seed = options.seed ?? 0;
  if (!Number.isFinite(seed)) refuse(`seed must be a finite number, not ${describeValue(seed)}`);
  if (options.bucket !== undefined && typeof options.bucket !== 'function') refuse(`bucket must be a function (context) => string, not ${describeValue(options.bucket)}`);
  for (const key of ['awaitFeedback', 'awaitReport'] as const) if (options[key] !== undefined && typeof options[key] !== 'boolean') refuse(`${key} must be a boolean, not ${describeValue(options[key])}`);
  const weights = typeof options.objective === 'function' ? null : { costWeight: 0, latencyWeight: 0, errorPenalty: 0, ...options.objective };
  const awaitFeedback = options.awaitFeedback ?? true;
  const awaitReport = options.awaitReport ?? (weights === null || weights.costWeight !== 0 || weights.latencyWeight !== 0 || weights.errorPenalty !== 0);
  if (!awaitFeedback && !awaitReport) refuse('awaitFeedback and awaitReport are both false: a reward would wait for nothing. Keep one (rewards come with feedback, or with the report)');
  if (options.onDefinitionChange !== undefined && options.onDefinitionChange !== 'refuse' && options.onDefinitionChange !== 'forget') refuse(`onDefinitionChange is 'refuse' or 'forget', not ${describeValue(options.onDefinitionChange)}`);
  return {
    name,
    arms,
    objective,
    objectiveWeights: weights,
    explorationBudget: budget,
    discount: halfLife === Infinity ? 1 : 2 ** (-1 / halfLife),
    prior,
    anomaly,
    pending,
    awaitFeedback,
    awaitReport,
    onDefinitionChange: options.onDefinitionChange ?? 'refuse',
    seed,
    bucket: options.bucket ?? defaultBucket,
  };
}

/**
 * What a running learner compares a definition by: every field (arms and their values, objective weights, or a
 * function objective and bucket by source text, the options), so the same code built again is the same learner.
 */
export function learnerFingerprint(definition: LearnerDefinition): Fingerprint {
  return fingerprintOf({ ...definition, objective: definition.objectiveWeights ?? definition.objective });
}

/**
 * What the rewards in a learner's posteriors mean: the objective (weights, or a function's source text) and the
 * parts a reward waits for. Posteriors learned under another one are on another scale.
 */
export function rewardMeaning(definition: LearnerDefinition): string {
  const objective = definition.objectiveWeights === null
    ? `function sha256:${createHash('sha256').update(fingerprintOf({ f: definition.objective }).shape.get('f')!).digest('hex').slice(0, 16)}`
    : JSON.stringify(definition.objectiveWeights);
  const parts = [definition.awaitFeedback ? 'feedback' : '', definition.awaitReport ? 'report' : ''].filter((p) => p !== '').join(' and ');
  return `objective ${objective} awaiting ${parts}`;
}

/** What is wrong with the anomaly options (the option's name first), or undefined. */
function anomalyOptionsProblem(a: AnomalyOptions): string | undefined {
  const share = (v: number) => v > 0 && v <= 1;
  const checks: Array<[keyof AnomalyOptions, boolean, string]> = [
    ['zThreshold', Number.isFinite(a.zThreshold) && a.zThreshold > 0, 'a finite positive z-score'],
    ['warmup', Number.isInteger(a.warmup) && a.warmup >= 0, 'a whole number of observations >= 0'],
    ['slowAlpha', share(a.slowAlpha), 'a smoothing factor in (0, 1]'],
    ['fastAlpha', share(a.fastAlpha), 'a smoothing factor in (0, 1]'],
    ['minLatencyIncrease', Number.isFinite(a.minLatencyIncrease) && a.minLatencyIncrease >= 0, 'a finite number >= 0'],
    ['minLatencyIncreaseMs', Number.isFinite(a.minLatencyIncreaseMs) && a.minLatencyIncreaseMs >= 0, 'a finite number of ms >= 0'],
    ['minErrorRate', a.minErrorRate >= 0 && a.minErrorRate <= 1, 'a rate in [0, 1]'],
    ['cooldownMs', Number.isFinite(a.cooldownMs) && a.cooldownMs >= 0, 'a finite number of ms >= 0'],
    ['maxCooldownMs', Number.isFinite(a.maxCooldownMs) && a.maxCooldownMs >= a.cooldownMs, 'a finite number of ms >= cooldownMs'],
    ['probes', Number.isInteger(a.probes) && a.probes >= 1, 'a whole number >= 1 (a half-open arm needs a probe to close)'],
  ];
  const bad = checks.find(([, ok]) => !ok);
  return bad === undefined ? undefined : `${bad[0]} must be ${bad[2]}, not ${describeValue(a[bad[0]])}`;
}
