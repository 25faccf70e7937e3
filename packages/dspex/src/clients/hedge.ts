// Hedged requests: when an attempt is slower than the client's observed tail latency (p95 by default), a
// duplicate goes out; the first answer wins and the other is aborted. This file holds the option, its
// validation and the latency window the delay is read from; job.ts runs the race.

import { LMConfigError } from './errors.js';

/**
 * `hedge: true` or these options turn hedging on (it is off by default: a duplicate is a second billed
 * request). Only non-streaming calls are hedged; a duplicate is admitted by the breaker (closed only) and the
 * rate limiter (only if it has room now, never making anyone wait), and the winner's answer is cached once.
 */
export interface HedgeOptions {
  /** The latency quantile after which the duplicate goes out (default 0.95). */
  quantile?: number;
  /** Never sooner than this after the attempt started (default 10 ms). */
  minDelayMs?: number;
  /** Until `minSamples` answers were timed, hedge after this long; undefined (default): no hedge until then. */
  initialDelayMs?: number;
  /** Answers timed before the quantile is trusted (default 20). */
  minSamples?: number;
  /** How many recent answer latencies the quantile is read from (default 256). */
  window?: number;
}

export type HedgePolicy = Required<Omit<HedgeOptions, 'initialDelayMs'>> & { initialDelayMs: number | undefined };

const DEFAULT_HEDGE: HedgePolicy = { quantile: 0.95, minDelayMs: 10, initialDelayMs: undefined, minSamples: 20, window: 256 };

/** The policy of `hedge`, or undefined when hedging is off. Throws LMConfigError on an invalid option. */
export function normalizeHedge(hedge: boolean | HedgeOptions | undefined): HedgePolicy | undefined {
  if (hedge === undefined || hedge === false) return undefined;
  const policy: HedgePolicy = hedge === true ? { ...DEFAULT_HEDGE } : { ...DEFAULT_HEDGE, ...definedOnly(hedge) };
  if (!(policy.quantile > 0 && policy.quantile < 1)) throw new LMConfigError(`hedge.quantile must be between 0 and 1 (0.95 hedges the slowest 5%), not ${String(policy.quantile)}.`);
  if (!(policy.minDelayMs >= 0)) throw new LMConfigError(`hedge.minDelayMs must be a number of ms >= 0, not ${String(policy.minDelayMs)}.`);
  if (policy.initialDelayMs !== undefined && !(policy.initialDelayMs >= 0)) throw new LMConfigError(`hedge.initialDelayMs must be a number of ms >= 0 or left out, not ${String(policy.initialDelayMs)}.`);
  if (!Number.isInteger(policy.window) || policy.window < 1) throw new LMConfigError(`hedge.window must be a positive integer, not ${String(policy.window)}.`);
  if (!Number.isInteger(policy.minSamples) || policy.minSamples < 1 || policy.minSamples > policy.window) {
    throw new LMConfigError(`hedge.minSamples must be an integer from 1 to hedge.window (${policy.window}), not ${String(policy.minSamples)}.`);
  }
  return policy;
}

function definedOnly(options: HedgeOptions): HedgeOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as HedgeOptions;
}

/**
 * The latencies of the last `window` answered attempts, and the hedge delay they give. The quantile is
 * re-read from a sorted copy once every window/8 samples, not on every call.
 */
export class LatencyWindow {
  private readonly samples: number[] = [];
  private next = 0;
  private sinceSort = 0;
  private cached: number | undefined;

  constructor(private readonly policy: HedgePolicy) {}

  record(ms: number): void {
    if (this.samples.length < this.policy.window) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.policy.window;
    if (++this.sinceSort >= Math.max(1, this.policy.window >> 3)) this.cached = undefined;
  }

  /** The observed quantile of answer latencies, or undefined before `minSamples` answers. */
  quantile(): number | undefined {
    if (this.samples.length < this.policy.minSamples) return undefined;
    if (this.cached === undefined) {
      const sorted = [...this.samples].sort((a, b) => a - b);
      this.cached = sorted[Math.min(sorted.length - 1, Math.ceil(this.policy.quantile * sorted.length) - 1)]!;
      this.sinceSort = 0;
    }
    return this.cached;
  }

  /** How long an attempt runs before its duplicate goes out; undefined: do not hedge. */
  delay(): number | undefined {
    const observed = this.quantile() ?? this.policy.initialDelayMs;
    return observed === undefined ? undefined : Math.max(this.policy.minDelayMs, observed);
  }
}
