// Each arm's health from its telemetry, and its breaker. A slow EWMA is the arm's baseline (latency mean and
// variance, error rate); a fast EWMA is what it does now. A z-score of the fast one against the baseline above
// the threshold (and, for latency, a relative increase, since loopback and event-loop jitter is heavy-tailed;
// for errors, a minimum rate) is an anomaly: the arm is demoted (its breaker opens, the learner stops choosing it) for a
// cooldown; then it is half-open and the learner sends it `probes` requests; healthy answers close the
// breaker (the arm is explored again), an unhealthy one opens it for twice the cooldown. Time is the learner's
// clock, so tests run it with a fake one.

/** An arm's breaker: closed (chosen as usual), open (demoted for a cooldown), half_open (being probed). */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** Options of the anomaly detector and breaker (learner option `anomaly`). */
export interface AnomalyOptions {
  /** z-score above which the fast EWMA is an anomaly. Default 3. */
  zThreshold: number;
  /** Observations before the detector judges an arm. Default 20. */
  warmup: number;
  /** Smoothing of the baseline. Default 0.05. */
  slowAlpha: number;
  /** Smoothing of the current level. Default 0.1: a sustained change, not one slow answer. */
  fastAlpha: number;
  /** The current latency must also be this much above the baseline (1: twice as slow) for a latency anomaly. Default 1. */
  minLatencyIncrease: number;
  /** ... and at least this many ms above it: jitter of fast calls (a GC pause on a 2 ms call) is no anomaly. Default 100. */
  minLatencyIncreaseMs: number;
  /** The current error rate must also be at least this for an error anomaly. Default 0.3. */
  minErrorRate: number;
  /** How long a demoted arm stays open before it is probed. Default 30,000 ms. */
  cooldownMs: number;
  /** Cap of the doubling cooldown. Default 600,000 ms. */
  maxCooldownMs: number;
  /** Healthy probes that close a half-open breaker. Default 2. */
  probes: number;
}

export const DEFAULT_ANOMALY: AnomalyOptions = { zThreshold: 3, warmup: 20, slowAlpha: 0.05, fastAlpha: 0.1, minLatencyIncrease: 1, minLatencyIncreaseMs: 100, minErrorRate: 0.3, cooldownMs: 30_000, maxCooldownMs: 600_000, probes: 2 };

/** One arm's health, as persisted and shown by explain(). */
export interface ArmHealth {
  observations: number;
  /** Observations that carried a latency (a report of only an error or a cost does not move the latency baseline). */
  latencySamples: number;
  latencyMean: number;
  latencyVar: number;
  latencyFast: number;
  errorRate: number;
  errorFast: number;
  breaker: BreakerState;
  /** When an open breaker becomes half-open (ms on the learner's clock). */
  openUntil: number;
  cooldownMs: number;
  /** Healthy probes so far in half-open; probes handed out and not yet reported. */
  probesPassed: number;
  probesInFlight: number;
  /** Why the breaker last opened. */
  lastAnomaly: { kind: 'latency' | 'errors'; z: number; at: number } | null;
}

export const newHealth = (options: AnomalyOptions): ArmHealth => ({
  observations: 0, latencySamples: 0, latencyMean: 0, latencyVar: 0, latencyFast: 0, errorRate: 0, errorFast: 0,
  breaker: 'closed', openUntil: 0, cooldownMs: options.cooldownMs, probesPassed: 0, probesInFlight: 0, lastAnomaly: null,
});

/** A breaker transition, as the learner's `breaker` event reports it. */
export interface BreakerTransition {
  from: BreakerState;
  to: BreakerState;
  reason: 'latency' | 'errors' | 'cooldown_elapsed' | 'probe_failed' | 'probes_passed';
  z: number | null;
}

const ewma = (previous: number, value: number, alpha: number): number => previous + alpha * (value - previous);

/** The z-scores of the current latency and error rate against the baseline. */
export function zScores(h: ArmHealth, options: AnomalyOptions): { latency: number; errors: number } {
  // The fast EWMA of independent draws has variance alpha/(2-alpha) of one draw's.
  const shrink = options.fastAlpha / (2 - options.fastAlpha);
  const latencySd = Math.sqrt(Math.max(h.latencyVar, 1e-6 + (0.05 * h.latencyMean) ** 2) * shrink);
  const p = Math.min(Math.max(h.errorRate, 0.01), 0.99);
  const errorSd = Math.sqrt(p * (1 - p) * shrink);
  return { latency: (h.latencyFast - h.latencyMean) / latencySd, errors: (h.errorFast - h.errorRate) / errorSd };
}

/** Whether a latency is far enough above the baseline, relatively and absolutely, to count as slower. */
const slower = (latencyMs: number, h: ArmHealth, options: AnomalyOptions): boolean =>
  latencyMs > h.latencyMean * (1 + options.minLatencyIncrease) && latencyMs - h.latencyMean > options.minLatencyIncreaseMs;

/** Moves an open breaker whose cooldown has elapsed to half-open. */
export function tick(h: ArmHealth, now: number): BreakerTransition | undefined {
  if (h.breaker !== 'open' || now < h.openUntil) return undefined;
  h.breaker = 'half_open';
  h.probesPassed = 0;
  h.probesInFlight = 0;
  return { from: 'open', to: 'half_open', reason: 'cooldown_elapsed', z: null };
}

function open(h: ArmHealth, now: number, cooldownMs: number): void {
  h.breaker = 'open';
  h.cooldownMs = cooldownMs;
  h.openUntil = now + cooldownMs;
  h.probesPassed = 0;
  h.probesInFlight = 0;
}

/**
 * Folds one call's telemetry into the arm's health (mutating it) and returns the breaker transition it caused.
 * `probe` marks a call the learner sent to a half-open arm. A sample without a latency moves only the error rate.
 */
export function record(h: ArmHealth, sample: { latencyMs?: number; error: boolean }, probe: boolean, now: number, options: AnomalyOptions): BreakerTransition | undefined {
  const error = sample.error ? 1 : 0;
  const latency = sample.latencyMs;
  if (h.observations === 0) h.errorRate = h.errorFast = error;
  if (latency !== undefined) {
    if (h.latencySamples === 0) h.latencyMean = h.latencyFast = latency;
    h.latencyFast = ewma(h.latencyFast, latency, options.fastAlpha);
    h.latencySamples++;
  }
  h.errorFast = ewma(h.errorFast, error, options.fastAlpha);
  h.observations++;
  const z = zScores(h, options);
  const latencyAnomaly = h.latencySamples > options.warmup && z.latency > options.zThreshold && slower(h.latencyFast, h, options);
  const anomaly = h.observations <= options.warmup ? undefined : latencyAnomaly ? 'latency' : z.errors > options.zThreshold && h.errorFast >= options.minErrorRate ? 'errors' : undefined;

  if (probe && h.breaker === 'half_open') {
    h.probesInFlight = Math.max(0, h.probesInFlight - 1);
    // A probe is judged on its own: an error, or a latency the baseline calls anomalous.
    const sd = Math.sqrt(Math.max(h.latencyVar, 1e-6 + (0.05 * h.latencyMean) ** 2));
    const slow = latency !== undefined && (latency - h.latencyMean) / sd > options.zThreshold && slower(latency, h, options);
    if (sample.error || slow) {
      open(h, now, Math.min(options.maxCooldownMs, h.cooldownMs * 2));
      return { from: 'half_open', to: 'open', reason: 'probe_failed', z: sample.error ? z.errors : (latency! - h.latencyMean) / sd };
    }
    if (++h.probesPassed >= options.probes) {
      h.breaker = 'closed';
      h.cooldownMs = options.cooldownMs;
      h.latencyFast = h.latencyMean; // the anomaly is over: start the current level from the baseline again
      h.errorFast = h.errorRate;
      return { from: 'half_open', to: 'closed', reason: 'probes_passed', z: null };
    }
    return undefined;
  }
  if (h.breaker !== 'closed') return undefined;
  if (anomaly !== undefined) {
    const score = anomaly === 'latency' ? z.latency : z.errors;
    h.lastAnomaly = { kind: anomaly, z: score, at: now };
    open(h, now, h.cooldownMs);
    return { from: 'closed', to: 'open', reason: anomaly, z: score };
  }
  // Only healthy samples move the baseline, so an anomaly cannot become the new normal.
  // 1/n until the EWMA's own weight takes over: the first samples make a plain mean and variance, not one
  // biased toward the first sample (which would make early z-scores huge).
  // A sample the baseline calls an outlier moves it ten times less, or a step change would be absorbed before
  // the fast EWMA shows it (a lasting small shift still becomes the new normal, slowly).
  if (latency !== undefined) {
    const delta = latency - h.latencyMean;
    const outlier = h.latencySamples > options.warmup && delta / Math.sqrt(Math.max(h.latencyVar, 1e-6)) > options.zThreshold;
    const alpha = Math.max(options.slowAlpha, 1 / h.latencySamples) / (outlier ? 10 : 1);
    h.latencyMean += alpha * delta;
    h.latencyVar = (1 - alpha) * (h.latencyVar + alpha * delta * delta);
  }
  h.errorRate = ewma(h.errorRate, error, Math.max(options.slowAlpha, 1 / h.observations));
  return undefined;
}
