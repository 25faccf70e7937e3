// Telemetry of the LM clients: one eventemitter3 bus that every LMClient reports to (requests, retries,
// cache hits, breaker transitions, errors), for the Telemetry node of the tree and for tests to wait on.

import { EventEmitter } from 'eventemitter3';
import type { LMUsage } from '../primitives/lm.js';
import type { BreakerState } from './circuit_breaker.js';

/** Each LM telemetry event with its payload. */
export interface LMTelemetryEvents {
  /** An HTTP attempt is about to go out (after any rate-limit wait). */
  lm_request: [event: { client: string; model: string; attempt: number }];
  /** An attempt failed and the client will retry after delayMs. */
  lm_retry: [event: { client: string; code: string; status?: number; delayMs: number; attempt: number }];
  /** The rate limiter made a call wait. */
  lm_rate_limited: [event: { client: string; waitMs: number }];
  lm_cache_hit: [event: { client: string; tier: 'memory' | 'disk' }];
  lm_breaker: [event: { client: string; from: BreakerState; to: BreakerState }];
  lm_response: [event: { client: string; model: string; usage: LMUsage; ms: number }];
  /** A call failed with this code (after its retries). */
  lm_error: [event: { client: string; code: string; message: string }];
  /** The disk cache could not be read or written; the call itself went on. */
  lm_cache_error: [event: { client: string; message: string }];
  /** An attempt ran past the hedge delay and a duplicate went out (hedge option). */
  lm_hedge_sent: [event: { client: string; delayMs: number; attempt: number }];
  /** A duplicate was due but not sent: the rate limiter had no room now, or the breaker was not closed. */
  lm_hedge_skipped: [event: { client: string; reason: 'rate_limit' | 'breaker' }];
  /** A hedged attempt answered: which request won, and after how long; the other was aborted. */
  lm_hedge_won: [event: { client: string; winner: 'primary' | 'hedge'; ms: number }];
}

/** An LM client's event emitter (requests, retries, cache hits, breaker transitions, hedges). */
export type LMTelemetry = EventEmitter<LMTelemetryEvents>;

/** The default bus; pass another with LMOptions.telemetry to separate trees. */
export const lmTelemetry: LMTelemetry = new EventEmitter<LMTelemetryEvents>();
