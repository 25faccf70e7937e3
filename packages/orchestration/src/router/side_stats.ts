// What the router has measured of one side of one module: exponentially weighted moving averages of latency
// and of the error rate. The error rate fades with time since the last call on that side, so a side that was
// failing is tried again once its failures are old, instead of being avoided forever.

/** A side's EWMA settings: the newest sample's weight and the error rate's half-life. */
export interface SideStatsOptions {
  /** Weight of the newest sample (0 < alpha <= 1). */
  alpha: number;
  /** The error rate halves every this many ms without a call on the side. */
  errorHalfLifeMs: number;
}

/** Latency and error-rate EWMAs of one side, what the Router decides by. */
export class SideStats {
  /** EWMA of call latency in ms (0 until the first sample). */
  latencyMs = 0;
  /** EWMA of failures (1) and successes (0), as of `updatedAt`. */
  private errors = 0;
  samples = 0;
  private updatedAt = 0;

  constructor(private readonly options: SideStatsOptions) {}

  record(latencyMs: number, ok: boolean, now: number): void {
    const { alpha } = this.options;
    const errors = this.errorRate(now);
    this.latencyMs = this.samples === 0 ? latencyMs : alpha * latencyMs + (1 - alpha) * this.latencyMs;
    this.errors = this.samples === 0 ? (ok ? 0 : 1) : alpha * (ok ? 0 : 1) + (1 - alpha) * errors;
    this.samples++;
    this.updatedAt = now;
  }

  /** The error rate now, faded by the time since the last sample. */
  errorRate(now: number): number {
    if (this.errors === 0) return 0;
    const idle = now - this.updatedAt;
    return idle <= 0 ? this.errors : this.errors * 0.5 ** (idle / this.options.errorHalfLifeMs);
  }
}
