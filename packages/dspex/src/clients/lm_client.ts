// LMClient: the GenServer behind one configured LM (DESIGN.md: LM supervisor -> LMClient:<name>). It owns
// the circuit breaker, the rate limiter, the memory cache and the usage totals; every call is answered
// with a deferred reply from a job (job.ts), so a call waiting on the limiter or the network blocks no one.

import { GenServer, type From, type GenServerBehavior, type ProcessContext } from '@dspex/runtime';
import type { Logger } from 'pino';
import type { LMConfig, LMRequest, LMResponse, LMUsage, StructuredOutputs } from '../primitives/lm.js';
import { DiskCache, LruCache, cacheKey } from './cache.js';
import type { ChunkSink } from './channel.js';
import { CircuitBreaker, type BreakerState } from './circuit_breaker.js';
import { CircuitOpen, type LMError, Redactor } from './errors.js';
import { mergeSettings, planCall, runCall, type Admission, type CallPlan, type HedgeAdmission, type JobContext, type JobReport } from './job.js';
import { LatencyWindow } from './hedge.js';
import type { ClientConfig } from './options.js';
import type { EndpointSource } from './endpoint.js';
import { RateLimiter } from './rate_limiter.js';
import type { LMTelemetry } from './telemetry.js';
import type { Context } from '@opentelemetry/api';
import { endLMSpan, startLMSpan } from '../tracing/lm_span.js';

/** Per-client totals since the client started (a restart starts from zero, as any process state). */
export interface LMUsageTotals extends LMUsage {
  /** Calls answered, from the cache or not. */
  calls: number;
  /** HTTP attempts made, retries included. */
  requests: number;
  retries: number;
  cacheHits: number;
  /** Attempts that failed (any error). */
  failures: number;
  /** Duplicates sent by the hedge option (also counted in requests). */
  hedges: number;
}

export interface LMDescription {
  name: string;
  model: string;
  defaults: LMConfig;
  structuredOutputs: StructuredOutputs;
}

/** The result every call gets: errors travel as values so that the caller rethrows the typed error. */
export type ClientReply<T> = { ok: T } | { error: LMError };

export type ClientCall =
  | { op: 'complete'; request: LMRequest; parent?: Context }
  | { op: 'stream'; request: LMRequest; sink: ChunkSink; parent?: Context }
  | { op: 'admit'; tokens: number }
  | { op: 'hedge'; tokens: number }
  | { op: 'usage' }
  | { op: 'breaker' }
  | { op: 'endpoint' }
  | { op: 'describe' };

export interface ClientArgs {
  config: ClientConfig;
  telemetry: LMTelemetry;
}

interface State {
  config: ClientConfig;
  breaker: CircuitBreaker;
  limiter: RateLimiter;
  memory: LruCache<LMResponse> | undefined;
  job: JobContext;
  totals: LMUsageTotals;
}

/** The cache key of a call, as DSPy's request_cache would compute it; undefined when the call skips the cache. */
export function requestKey(config: ClientConfig, request: LMRequest): string | undefined {
  if (config.memoryCache === 0 && config.diskCache === undefined) return undefined;
  if (request.config?.cache === false || config.defaults.cache === false) return undefined;
  return cacheKey({
    _fn_identifier: `dspex.clients.${config.provider.name}.complete`,
    model: config.model,
    messages: request.messages,
    ...mergeSettings(config.defaults, request.config),
    response_format: request.responseFormat,
    tools: request.tools,
  });
}

function cachedCopy(response: LMResponse): LMResponse {
  return { ...structuredClone(response), usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, cached: true };
}

function startJob(state: State, from: From<unknown>, request: LMRequest, key: string | undefined, sink: ChunkSink | undefined, parent: Context | undefined): void {
  const plan: CallPlan = planCall(state.config, request);
  // The first request is admitted now, sparing the job a round trip through this mailbox, unless the job
  // reads the disk cache first (a hit makes no request, so it must not take a request's place).
  const admitted = key !== undefined && state.job.disk !== undefined ? undefined : admit(state, plan.estimate);
  // Started from a microtask, outside the server's slice: the job's own calls to the server (admit) must not
  // look like calls from the server to itself.
  Promise.resolve()
    .then(() => runCall(state.job, request, key, plan, admitted, sink, parent))
    .then(
    (response) => GenServer.reply(from, { ok: response } satisfies ClientReply<LMResponse>),
    (error: LMError) => GenServer.reply(from, { error } satisfies ClientReply<LMResponse>),
  );
}

function admit(state: State, tokens: number): Admission {
  const gate = state.breaker.admit();
  if (!gate.ok) return { error: new CircuitOpen(state.config.name, gate.state) };
  state.totals.requests++;
  return { ok: { waitMs: state.limiter.reserve(tokens) } };
}

/** A duplicate goes out only while the breaker is closed and the limiter has room now; it never waits. */
function admitHedge(state: State, tokens: number): HedgeAdmission {
  if (state.breaker.state !== 'closed' || !state.breaker.admit().ok) return { skipped: 'breaker' };
  if (!state.limiter.tryReserve(tokens)) return { skipped: 'rate_limit' };
  state.totals.requests++;
  state.totals.hedges++;
  return { ok: true };
}

export const lmClientBehavior: GenServerBehavior<State, ClientArgs, ClientCall, unknown, JobReport> = {
  init({ config, telemetry }, self: ProcessContext) {
    const redactor = new Redactor([config.apiKey]);
    const logger: Logger = self.runtime.logger.child({ lm: config.name });
    const breaker = new CircuitBreaker(config.breaker, config.clock, (from, to) => {
      logger.warn({ from, to }, `circuit breaker ${from} -> ${to}`);
      telemetry.emit('lm_breaker', { client: config.name, from, to });
    });
    const job: JobContext = {
      rt: self.runtime,
      server: self.pid,
      config,
      redactor,
      logger,
      telemetry,
      disk: config.diskCache === undefined ? undefined : new DiskCache(config.diskCache),
      serverSignal: self.signal,
      live: new Set(),
      latency: config.hedge === undefined ? undefined : new LatencyWindow(config.hedge),
    };
    // Everything timed ends with the process, terminate or not (a client that does not trap exits is killed
    // on shutdown without it): the breaker's cooldown timer must not log a transition after rt.shutdown().
    self.signal.addEventListener('abort', () => {
      breaker.stop();
      job.live.forEach((call) => call.abort(self.signal.reason));
    }, { once: true });
    const totals: LMUsageTotals = { calls: 0, requests: 0, retries: 0, cacheHits: 0, failures: 0, hedges: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0 };
    const memory = config.memoryCache > 0 ? new LruCache<LMResponse>(config.memoryCache) : undefined;
    return { ok: { config, breaker, limiter: new RateLimiter(config.rateLimit, config.clock), memory, job, totals } };
  },

  handleCall(request, from, state) {
    switch (request.op) {
      case 'complete':
      case 'stream': {
        state.totals.calls++;
        const key = requestKey(state.config, request.request);
        const hit = key === undefined ? undefined : state.memory?.get(key);
        if (hit !== undefined) {
          state.totals.cacheHits++;
          state.job.telemetry.emit('lm_cache_hit', { client: state.config.name, tier: 'memory' });
          const response = cachedCopy(hit);
          // parent is set only while an SDK is registered: an untraced hit builds no span.
          if (request.parent !== undefined) endLMSpan(startLMSpan(state.config, request.request, mergeSettings(state.config.defaults, request.request.config), request.parent), response);
          if (request.op === 'stream') response.outputs.forEach((o, index) => o.text !== '' && request.sink.push({ delta: o.text, index, done: false }));
          return { reply: { ok: response } satisfies ClientReply<LMResponse>, state };
        }
        startJob(state, from, request.request, key, request.op === 'stream' ? request.sink : undefined, request.parent);
        return { noreply: true, state };
      }
      case 'admit':
        return { reply: admit(state, request.tokens), state };
      case 'hedge':
        return { reply: admitHedge(state, request.tokens), state };
      case 'usage':
        return { reply: { ...state.totals } satisfies LMUsageTotals, state };
      case 'breaker':
        return { reply: state.breaker.state satisfies BreakerState, state };
      case 'endpoint':
        return { reply: { config: state.config, redactor: state.job.redactor } satisfies EndpointSource, state };
      case 'describe':
        return { reply: { name: state.config.name, model: state.config.model, defaults: { ...state.config.defaults }, structuredOutputs: state.config.structuredOutputs } satisfies LMDescription, state };
    }
  },

  handleCast(report, state) {
    switch (report.op) {
      case 'outcome':
        if (report.kind === 'success') {
          state.breaker.success();
          if (report.usage !== undefined) {
            state.totals.promptTokens += report.usage.promptTokens;
            state.totals.completionTokens += report.usage.completionTokens;
            state.totals.totalTokens += report.usage.totalTokens;
            state.limiter.settle(report.estimate ?? 0, report.usage.totalTokens);
          }
        } else {
          // 'abandoned': the slower request of a hedged pair, neither a failure nor a proof of health.
          if (report.kind !== 'abandoned') state.totals.failures++;
          if (report.kind === 'failure') state.breaker.failure();
          else state.breaker.neutral();
        }
        break;
      case 'retry':
        state.totals.retries++;
        break;
      case 'store':
        state.memory?.set(report.key, report.response);
        break;
      case 'disk_hit':
        state.totals.cacheHits++;
        state.job.telemetry.emit('lm_cache_hit', { client: state.config.name, tier: 'disk' });
        state.memory?.set(report.key, report.response);
        break;
    }
    return { noreply: true, state };
  },

  terminate(_reason, state) {
    state?.breaker.stop();
  },
};
