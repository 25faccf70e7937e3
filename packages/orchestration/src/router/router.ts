// The Router of the Orchestrator: sends each module call native or to Python. It decides from what exists on
// each side, the Python pool's health, the LM client's circuit breaker, and the latency and error rate measured
// per side; a retryable failure on one side falls back to the other. decide() only reads cached state, so a
// decision costs well under 10 µs; every decision is a `route` event on the router's telemetry.

import type { PythonPool } from '@dspex/python-bridge';
import type { Caller } from '@dspex/runtime';
import { lmEndpoint, lmTelemetry, type LMTelemetry, type Module, type Prediction, type ProgramCallOptions } from 'dspex';
import type { PythonClassSpec } from '../python/python_twin.js';
import { RouteFailedError, RouterConfigError } from './errors.js';
import { BreakerHealth, PoolHealth } from './health.js';
import { pythonLmSpec } from './python_lm.js';
import { errorCode, findCode, isWorkerLoss, worthFallback } from './retryable.js';
import { RoutedModule, type ModuleSpec, type PythonLm, type RouteHost } from './routed_module.js';
import type { SideStatsOptions } from './side_stats.js';
import { RouterTelemetry, type RouteReason, type RouteSide } from './telemetry.js';

/** Options of the Router: the pool for Python sides, the LM client whose circuit to follow, the preferred side, error-rate, latency and saturation thresholds. */
export interface RouterOptions {
  /** The pool Python sides run in (the design's `general` pool). Without it every module is native only. */
  pool?: PythonPool;
  /**
   * The LM spec Python sessions are configured with (the bridge's configure_lm). Default: the native client's
   * own configuration (`lmClient`, read through `runtime`: model, endpoint, key, temperature, max_tokens), read
   * again before each Python call when it can change (LocalLM's port after a restart, a rotated key). false, or
   * no lmClient: the pool's own.
   */
  pythonLm?: Record<string, unknown> | false;
  /** The native LM client whose circuit breaker to follow and whose configuration Python uses (its `name`). */
  lmClient?: string;
  /** The runtime the LM client runs in (to read its configuration). DSPex applications pass theirs. */
  runtime?: Caller;
  /**
   * Modules may be called again safely (default false; per module in ModuleSpec, per call in the call options):
   * a Python-only call whose worker died is retried once, and evaluate() retries such an example.
   */
  idempotent?: boolean;
  /** Where that client reports (default the shared lmTelemetry bus). */
  lmTelemetry?: LMTelemetry;
  /** The side taken when both are healthy and comparable. Default 'native'. */
  prefer?: RouteSide;
  /** EWMA weight of the newest sample. Default 0.2. */
  alpha?: number;
  /** A side whose recent error rate is above this is avoided. Default 0.5. */
  maxErrorRate?: number;
  /** The error rate halves every this many ms without calls on the side. Default 30000. */
  errorHalfLifeMs?: number;
  /** Leave the preferred side when it is this many times slower than the other. Default 3. */
  latencyRatio?: number;
  /** Samples a side needs before its latency and error rate count. Default 3. */
  minSamples?: number;
  /** Fraction of the pool's maxQueue from which it counts as saturated. Default 0.9. */
  saturation?: number;
  /** How often (at most) decisions trigger a background pool.stats() refresh. Default 1000 ms. */
  healthRefreshMs?: number;
  /** How long an observed CircuitOpen keeps the native side avoided. Default 30000 ms (the breaker's cooldown). */
  circuitCooldownMs?: number;
  telemetry?: RouterTelemetry;
  now?: () => number;
}

/** Where a call goes and why. The objects are shared and frozen: a decision allocates nothing. */
export interface Decision {
  readonly side: RouteSide;
  readonly reason: RouteReason;
}

const DECISIONS = new Map<string, Decision>();
function decision(side: RouteSide, reason: RouteReason): Decision {
  const key = `${side}:${reason}`;
  let found = DECISIONS.get(key);
  if (found === undefined) DECISIONS.set(key, (found = Object.freeze({ side, reason })));
  return found;
}
const ONLY_NATIVE = decision('native', 'only_native');
const ONLY_PYTHON = decision('python', 'only_python');
const CIRCUIT_OPEN = decision('python', 'native_circuit_open');
const NATIVE_ERRORS = decision('python', 'native_error_rate');
const PYTHON_ERRORS = decision('native', 'python_error_rate');
const POOL_DOWN = decision('native', 'python_pool_down');
const SATURATED = decision('native', 'python_saturated');
const PREFERRED = { native: decision('native', 'preferred'), python: decision('python', 'preferred') };
const FASTER = { native: decision('native', 'lower_latency'), python: decision('python', 'lower_latency') };
const OTHER: Record<RouteSide, RouteSide> = { native: 'python', python: 'native' };

/** Sends each call of a routed module native or to Python by what exists, pool health, the LM's circuit and measured latency and errors, and falls back across on a retryable failure; every decision is a `route` event. */
export class Router implements RouteHost {
  readonly telemetry: RouterTelemetry;
  readonly pool: PythonPool | undefined;
  readonly idempotent: boolean;
  readonly statsOptions: SideStatsOptions;
  readonly poolHealth: PoolHealth | undefined;
  readonly breaker: BreakerHealth;
  private readonly prefer: RouteSide;
  private readonly maxErrorRate: number;
  private readonly latencyRatio: number;
  private readonly minSamples: number;
  private readonly healthRefreshMs: number;
  private readonly circuitCooldownMs: number;
  private readonly now: () => number;
  private nextRefresh = 0;
  private refreshing = false;
  private readonly pythonLmOption: Record<string, unknown> | false | undefined;
  private readonly lmClient: string | undefined;
  private readonly runtime: Caller | undefined;
  /** The native client's spec once read, when it cannot change. */
  private fixedPythonLm: PythonLm | undefined;

  constructor(options: RouterOptions = {}) {
    this.pool = options.pool;
    this.pythonLmOption = options.pythonLm;
    this.lmClient = options.lmClient;
    this.runtime = options.runtime;
    this.idempotent = options.idempotent ?? false;
    if (options.pythonLm !== undefined && options.pythonLm !== false) this.fixedPythonLm = { spec: options.pythonLm, key: 'given' };
    this.telemetry = options.telemetry ?? new RouterTelemetry();
    this.prefer = options.prefer ?? 'native';
    this.maxErrorRate = options.maxErrorRate ?? 0.5;
    this.latencyRatio = options.latencyRatio ?? 3;
    this.minSamples = options.minSamples ?? 3;
    this.healthRefreshMs = options.healthRefreshMs ?? 1000;
    this.circuitCooldownMs = options.circuitCooldownMs ?? 30_000;
    this.now = options.now ?? (() => performance.now());
    const alpha = options.alpha ?? 0.2;
    if (!(alpha > 0 && alpha <= 1)) throw new RouterConfigError(`alpha must be in (0, 1], not ${String(alpha)}.`);
    this.statsOptions = { alpha, errorHalfLifeMs: options.errorHalfLifeMs ?? 30_000 };
    this.poolHealth = this.pool === undefined ? undefined : new PoolHealth(this.pool, options.saturation ?? 0.9);
    this.breaker = new BreakerHealth(options.lmClient, options.lmClient === undefined ? undefined : (options.lmTelemetry ?? lmTelemetry));
  }

  /**
   * Registers a module: a native Module (with its DSPy twin in Python when the router has a pool), a DSPy class
   * by name (`{ class: 'dspy.ProgramOfThought', args }`: native too when DSPex implements it), or both sides
   * spelled out. RouterConfigError when no side can run it.
   */
  module(target: Module | (PythonClassSpec & { name?: string }) | ModuleSpec): RoutedModule {
    let routed: RoutedModule;
    if (typeof (target as Module).call === 'function' && typeof (target as Module).forward === 'function') routed = new RoutedModule(this, { native: target as Module });
    else if (typeof (target as PythonClassSpec).class === 'string') {
      if (this.pool === undefined) throw new RouterConfigError(`${(target as PythonClassSpec).class} runs in Python: give the router a pool.`);
      routed = RoutedModule.fromClass(this, target as PythonClassSpec);
    } else routed = new RoutedModule(this, target as ModuleSpec);
    if (routed.native === undefined && !routed.hasPython) throw new RouterConfigError(`${routed.name} has neither a native nor a Python side.`);
    return routed;
  }

  /** Where a call of `module` would go now. Reads only cached state (and may start a background refresh). */
  decide(module: RoutedModule): Decision {
    if (!module.hasPython) return ONLY_NATIVE;
    if (module.native === undefined) return ONLY_PYTHON;
    const now = this.now();
    if (this.poolHealth !== undefined && now >= this.nextRefresh) this.refreshInBackground(now);
    const nativeOpen = this.breaker.open(now);
    const poolBlocked = this.poolHealth?.blocked(now) ?? null;
    if (nativeOpen && poolBlocked === null) return CIRCUIT_OPEN;
    if (poolBlocked !== null && !nativeOpen) return poolBlocked === 'python_pool_down' ? POOL_DOWN : SATURATED;
    const { native, python } = module.stats;
    const nativeErrors = native.samples >= this.minSamples ? native.errorRate(now) : 0;
    const pythonErrors = python.samples >= this.minSamples ? python.errorRate(now) : 0;
    if (nativeErrors > this.maxErrorRate && pythonErrors < nativeErrors) return NATIVE_ERRORS;
    if (pythonErrors > this.maxErrorRate && nativeErrors < pythonErrors) return PYTHON_ERRORS;
    const preferred = this.prefer;
    const other = OTHER[preferred];
    const mine = module.stats[preferred];
    const theirs = module.stats[other];
    if (mine.samples >= this.minSamples && theirs.samples >= this.minSamples && mine.latencyMs > this.latencyRatio * theirs.latencyMs) return FASTER[other];
    return PREFERRED[preferred];
  }

  /**
   * The LM spec for the Python side now (see RouterOptions.pythonLm), or undefined for the pool's own. `key` tells
   * a module whether its session must be configured again.
   */
  async pythonLm(): Promise<PythonLm | undefined> {
    if (this.fixedPythonLm !== undefined) return this.fixedPythonLm;
    if (this.pythonLmOption === false || this.lmClient === undefined || this.runtime === undefined) return undefined;
    const endpoint = await lmEndpoint(this.runtime, this.lmClient);
    const spec = pythonLmSpec(endpoint);
    const current = { spec, key: JSON.stringify(spec) };
    if (!endpoint.changes) this.fixedPythonLm = current;
    return current;
  }

  /**
   * Runs `module` where decide() says; a retryable failure falls back to the other side once. With no other side,
   * an idempotent call (options.idempotent, else the module's) whose Python worker died is tried there once more.
   */
  async route(module: RoutedModule, inputs: Record<string, unknown>, options: ProgramCallOptions = {}): Promise<Prediction> {
    const first = this.decide(module);
    const outcome = await this.attempt(module, first.side, first.reason, inputs, options, undefined);
    if (outcome.ok) return outcome.value;
    const error = outcome.error;
    const other = OTHER[first.side];
    const otherExists = other === 'native' ? module.native !== undefined : module.hasPython;
    if (!otherExists && first.side === 'python' && (options.idempotent ?? module.idempotent) && isWorkerLoss(error) && options.signal?.aborted !== true) {
      const again = await this.attempt(module, 'python', 'retry', inputs, options, undefined);
      if (again.ok) return again.value;
      throw again.error;
    }
    if (!otherExists || !worthFallback(error) || options.signal?.aborted === true) throw error;
    const fallback = await this.attempt(module, other, 'fallback', inputs, options, first.side);
    if (fallback.ok) return fallback.value;
    throw new RouteFailedError(module.name, [error, fallback.error]);
  }

  private async attempt(module: RoutedModule, side: RouteSide, reason: RouteReason, inputs: Record<string, unknown>, options: ProgramCallOptions, fallbackFrom: RouteSide | undefined): Promise<{ ok: true; value: Prediction } | { ok: false; error: unknown }> {
    const started = this.now();
    try {
      const value = await module.run(side, inputs, options);
      this.finish(module, side, reason, started, undefined, fallbackFrom);
      return { ok: true, value };
    } catch (error) {
      this.finish(module, side, reason, started, error, fallbackFrom);
      return { ok: false, error };
    }
  }

  private finish(module: RoutedModule, side: RouteSide, reason: RouteReason, started: number, error: unknown, fallbackFrom: RouteSide | undefined): void {
    const now = this.now();
    const latencyMs = now - started;
    const ok = error === undefined;
    module.stats[side].record(latencyMs, ok, now);
    if (!ok) this.observe(side, error, now);
    if (this.telemetry.listenerCount('route') > 0) {
      this.telemetry.emit('route', { module: module.name, side, reason, latencyMs, ok, ...(ok ? {} : { code: errorCode(error) }), ...(fallbackFrom === undefined ? {} : { fallbackFrom }) });
    }
  }

  /** Health learned from a failure, before the next decision (events may come later, or never). */
  private observe(side: RouteSide, error: unknown, now: number): void {
    if (side === 'native') {
      if (findCode(error, CIRCUIT_CODES) !== undefined) this.breaker.sawOpen(now, this.circuitCooldownMs);
      return;
    }
    const code = findCode(error, POOL_CODES);
    if (code !== undefined) this.poolHealth?.block(POOL_DOWN_CODES.has(code) ? 'python_pool_down' : 'python_saturated', now, this.healthRefreshMs);
  }

  private refreshInBackground(now: number): void {
    this.nextRefresh = now + this.healthRefreshMs;
    if (this.refreshing || this.poolHealth === undefined) return;
    this.refreshing = true;
    this.poolHealth.refresh().then(
      () => void (this.refreshing = false),
      (error: unknown) => {
        this.refreshing = false;
        this.poolHealth?.block('python_pool_down', this.now(), this.healthRefreshMs);
        if (this.telemetry.listenerCount('health_error') > 0) this.telemetry.emit('health_error', { message: error instanceof Error ? error.message : String(error) });
      },
    );
  }

  /** Stops following the pool's and the LM's events. */
  close(): void {
    this.poolHealth?.detach();
    this.breaker.close();
  }
}

const CIRCUIT_CODES: ReadonlySet<string> = new Set(['DSPEX_LM_CIRCUIT_OPEN']);
const POOL_CODES: ReadonlySet<string> = new Set(['DSPEX_POOL_SATURATED', 'DSPEX_QUEUE_TIMEOUT', 'DSPEX_POOL_CLOSED', 'DSPEX_WORKER_STARTUP_FAILED']);
/** Of those, the ones that say the pool is down (closed, or its workers cannot start), not merely busy. */
const POOL_DOWN_CODES: ReadonlySet<string> = new Set(['DSPEX_POOL_CLOSED', 'DSPEX_WORKER_STARTUP_FAILED']);
