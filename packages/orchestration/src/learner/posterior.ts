// What the learner believes about each arm's reward, per context bucket: a discounted Gaussian estimate (a
// weighted mean and spread where each observation's weight decays by `discount` when the arm is observed again,
// so a drifting arm is forgotten within about one half-life), and the posterior of the mean that Thompson
// sampling draws from. A bucket borrows its prior from the arm's statistics over every bucket, so a new bucket
// starts from what the arm does elsewhere rather than from nothing.

import type { SeededRng } from './rng.js';

/** Running, discounted statistics of one arm's rewards (in a bucket, or over all buckets). */
export interface ArmStats {
  /** Effective (discounted) number of observations. */
  n: number;
  mean: number;
  /** Discounted sum of squared deviations from the mean. */
  m2: number;
  /** Observations ever, undiscounted. */
  count: number;
}

/** The prior every estimate starts from. */
export interface Prior {
  /** The prior mean of an arm nobody has observed (optimistic values explore untried arms first). */
  mean: number;
  /** The prior variance of one reward. */
  variance: number;
  /** How many observations the prior (or the arm's all-bucket estimate) counts as. */
  weight: number;
}

export const emptyStats = (): ArmStats => ({ n: 0, mean: 0, m2: 0, count: 0 });

/** The statistics after one more reward, older ones decayed by `discount` (1: no forgetting). */
export function observe(stats: ArmStats, reward: number, discount: number): ArmStats {
  const n = stats.n * discount + 1;
  const delta = reward - stats.mean;
  const mean = stats.mean + delta / n;
  const m2 = stats.m2 * discount + delta * (reward - mean); // West's weighted update, the old sum decayed
  return { n, mean, m2: Math.max(0, m2), count: stats.count + 1 };
}

/** The posterior of an arm's mean reward: Normal(mean, std²). */
export interface Posterior {
  mean: number;
  std: number;
  /** Effective observations in the bucket. */
  n: number;
  /** Observations ever in the bucket. */
  count: number;
}

/**
 * The posterior of the mean in a bucket. Its prior is the arm's all-bucket estimate when it has one (else
 * `prior.mean`), weighted as `prior.weight` observations; the reward variance pools the bucket's spread with
 * `prior.variance`, so a few lucky rewards do not make the arm look certain.
 */
export function posteriorOf(bucket: ArmStats | undefined, global: ArmStats | undefined, prior: Prior): Posterior {
  const local = bucket ?? emptyStats();
  const priorMean = global !== undefined && global.n > 0 ? global.mean : prior.mean;
  const k = prior.weight;
  const n = local.n;
  const mean = (k * priorMean + n * local.mean) / (k + n);
  const variance = (local.m2 + k * prior.variance) / (n + k);
  return { mean, std: Math.sqrt(variance / (n + k)), n, count: local.count };
}

/** One Thompson draw per arm: a plausible mean reward under its posterior. */
export function thompsonDraw(posterior: Posterior, rng: SeededRng): number {
  return rng.normal(posterior.mean, posterior.std);
}
