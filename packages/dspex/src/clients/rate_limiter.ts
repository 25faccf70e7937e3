// Token buckets for requests per minute and tokens per minute. A reservation debits the bucket at once
// (it may go negative) and says how long the caller must wait, so callers are served in arrival order and
// the waiting happens in the caller's job, never inside the LMClient GenServer.

import type { Clock } from './clock.js';

/** A client's rate limit: requests and tokens per minute. */
export interface RateLimit {
  /** Requests per minute. */
  rpm?: number;
  /** Tokens (prompt + completion, estimated before the call, corrected after) per minute. */
  tpm?: number;
}

/** A bucket of `capacity` units refilled continuously at capacity per minute. */
export class TokenBucket {
  private level: number;
  private updatedAt: number;
  private readonly perMs: number;

  constructor(readonly capacity: number, private readonly clock: Clock) {
    this.level = capacity;
    this.updatedAt = clock.now();
    this.perMs = capacity / 60_000;
  }

  private refill(): void {
    const now = this.clock.now();
    this.level = Math.min(this.capacity, this.level + (now - this.updatedAt) * this.perMs);
    this.updatedAt = now;
  }

  /** Debits `amount` now; returns the ms until the bucket is back to zero (0 when it had enough). */
  reserve(amount: number): number {
    this.refill();
    this.level -= amount;
    return this.level >= 0 ? 0 : Math.ceil(-this.level / this.perMs);
  }

  /** Corrects an earlier reservation: positive debits more, negative gives back. */
  adjust(amount: number): void {
    this.refill();
    this.level = Math.min(this.capacity, this.level - amount);
  }

  get available(): number {
    this.refill();
    return this.level;
  }
}

export class RateLimiter {
  private readonly requests: TokenBucket | undefined;
  private readonly tokens: TokenBucket | undefined;

  constructor(limit: RateLimit | undefined, clock: Clock) {
    if (limit?.rpm !== undefined) this.requests = new TokenBucket(limit.rpm, clock);
    if (limit?.tpm !== undefined) this.tokens = new TokenBucket(limit.tpm, clock);
  }

  /** Reserves one request and `estimatedTokens`; the wait is the longer of the two buckets' waits. */
  reserve(estimatedTokens: number): number {
    const a = this.requests?.reserve(1) ?? 0;
    const b = this.tokens?.reserve(estimatedTokens) ?? 0;
    return Math.max(a, b);
  }

  /** Reserves like reserve() only when both buckets have room now (a hedge must never make anyone wait). */
  tryReserve(estimatedTokens: number): boolean {
    if ((this.requests?.available ?? 1) < 1 || (this.tokens?.available ?? estimatedTokens) < estimatedTokens) return false;
    this.reserve(estimatedTokens);
    return true;
  }

  /** After the call: charge the difference between the tokens used and the estimate. */
  settle(estimatedTokens: number, actualTokens: number): void {
    this.tokens?.adjust(actualTokens - estimatedTokens);
  }
}
