// The router's telemetry: an eventemitter3 bus with one `route` event per decision (the side, why, how long the
// call took and how it ended), for the Orchestrator's learner and for tests to wait on.

import { EventEmitter } from 'eventemitter3';

/** A side of the Router: native TypeScript or Python DSPy. */
export type RouteSide = 'native' | 'python';

/** Why the Router chose a side. */
export type RouteReason =
  | 'only_native' /** the module exists only natively (e.g. a ReAct with TypeScript tools) */
  | 'only_python' /** a DSPy module with no native implementation */
  | 'preferred' /** both healthy: the router's preferred side */
  | 'native_circuit_open' /** the LM client's circuit breaker is open */
  | 'python_pool_down' /** no live Python worker */
  | 'python_saturated' /** the pool's wait queue is (nearly) full */
  | 'native_error_rate' /** the native side's recent error rate is over the limit */
  | 'python_error_rate'
  | 'lower_latency' /** the preferred side is much slower than the other lately */
  | 'fallback' /** the first side failed with a retryable error */
  | 'retry'; /** an idempotent Python-only call whose worker died, tried once more */

/** One routing decision: module, side, reason, latency, outcome, fallback. */
export interface RouteEvent {
  module: string;
  side: RouteSide;
  reason: RouteReason;
  /** How long the call on this side took (ms). */
  latencyMs: number;
  ok: boolean;
  /** The error's code when the call failed. */
  code?: string;
  /** For a fallback: the side that failed first. */
  fallbackFrom?: RouteSide;
}

/** Each Router telemetry event with its payload. */
export interface RouterTelemetryEvents {
  route: [event: RouteEvent];
  /** A background health refresh failed (the pool's stats could not be read). */
  health_error: [event: { message: string }];
}

/** The Router's event emitter (`router.telemetry.on('route', ...)`). */
export class RouterTelemetry extends EventEmitter<RouterTelemetryEvents> {}
