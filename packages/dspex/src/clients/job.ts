// The work of one LM call, run outside the LMClient's mailbox so the server never blocks: disk cache
// lookup, then attempts, each admitted by the server (breaker + rate limiter) before it goes out, with
// backoff between them. Outcomes go back to the server as casts; the result goes to the caller.

import { GenServer, type Pid, type Runtime } from '@dspex/runtime';
import type { Logger } from 'pino';
import type { LMConfig, LMOutput, LMRequest, LMResponse, LMUsage } from '../primitives/lm.js';
import type { DiskCache } from './cache.js';
import type { ChunkSink } from './channel.js';
import { sleep } from './clock.js';
import { LMAborted, LMBadResponse, LMError, LMHttpError, LMNetworkError, LMTimeout, type Redactor } from './errors.js';
import { post, retryDelay } from './http.js';
import { currentApiKey, type ClientConfig } from './options.js';
import { NO_USAGE, type ParsedResponse } from './providers/types.js';
import type { LMTelemetry } from './telemetry.js';
import type { LatencyWindow } from './hedge.js';
import { isEmptyUsage, mergeUsage } from '../usage/tracker.js';
import type { Context } from '@opentelemetry/api';
import { carryResponseMeta, endLMSpan, failLMSpan, noteResponseBody, startLMSpan } from '../tracing/lm_span.js';

/** What the server answers an `admit` call with. */
export type Admission = { ok: { waitMs: number } } | { error: LMError };

/** What the server answers a `hedge` call with: a duplicate may go out now, or why not. */
export type HedgeAdmission = { ok: true } | { skipped: 'rate_limit' | 'breaker' };

/** Casts a job sends its server. */
export type JobReport =
  | { op: 'outcome'; kind: 'success' | 'failure' | 'neutral' | 'abandoned'; usage?: LMUsage; estimate?: number }
  | { op: 'retry' }
  | { op: 'store'; key: string; response: LMResponse }
  | { op: 'disk_hit'; key: string; response: LMResponse };

export interface JobContext {
  rt: Runtime;
  server: Pid;
  config: ClientConfig;
  redactor: Redactor;
  logger: Logger;
  telemetry: LMTelemetry;
  disk: DiskCache | undefined;
  /** Aborted when the client process exits. */
  serverSignal: AbortSignal;
  /** The controllers of the calls in flight, which the client aborts when it exits (one listener for all). */
  live: Set<AbortController>;
  /** Recent answer latencies, when the hedge option is on. */
  latency: LatencyWindow | undefined;
}

/** Settings for the wire: defaults, then the call's config, without the client-side keys. */
export function mergeSettings(defaults: LMConfig, config: LMConfig | undefined): LMConfig {
  const merged: LMConfig = { ...defaults, ...(config ?? {}) };
  delete merged.cache;
  return merged;
}

function estimateTokens(request: LMRequest, settings: LMConfig): number {
  let chars = 0;
  for (const message of request.messages) chars += message.content.length;
  return Math.ceil(chars / 4) + (settings.max_tokens ?? 256) * (settings.n ?? 1);
}

/** How a call goes out: one request, or n for a provider without `n`; the wire settings and token estimate of each. */
export interface CallPlan {
  requests: number;
  /** Defaults merged with the call's config, without `cache` and `rollout_id` (and with n: 1 when split). */
  settings: LMConfig;
  /** The rate limiter's token estimate for one request. */
  estimate: number;
}

export function planCall(config: ClientConfig, request: LMRequest): CallPlan {
  const settings = mergeSettings(config.defaults, request.config);
  delete settings.rollout_id;
  const n = settings.n ?? 1;
  if (n > 1 && !config.provider.nativeN) {
    const one = { ...settings, n: 1 };
    return { requests: n, settings: one, estimate: estimateTokens(request, one) };
  }
  return { requests: 1, settings, estimate: estimateTokens(request, settings) };
}

/** Failures that say the provider is unwell open the breaker; a refused request or an abort says nothing. */
function outcomeOf(error: LMError): 'failure' | 'neutral' {
  if (error instanceof LMHttpError) return error.status >= 500 ? 'failure' : 'neutral';
  return error instanceof LMNetworkError || error instanceof LMTimeout || error instanceof LMBadResponse ? 'failure' : 'neutral';
}

/** The one choke point every error passes before it leaves a job: message, stack and body lose any secret. */
export function scrub<E extends LMError>(error: E, redactor: Redactor): E {
  return error.redact(redactor);
}

function asLMError(error: unknown, ctx: JobContext, signal: AbortSignal): LMError {
  if (signal.aborted && signal.reason instanceof LMError) return signal.reason;
  if (error instanceof LMError) return error;
  if (signal.aborted) return new LMAborted(ctx.config.provider.name, ctx.redactor.error(signal.reason));
  const safe = ctx.redactor.error(error);
  return new LMNetworkError(ctx.config.provider.name, safe.message, safe);
}

/**
 * One request/response exchange with retries. Streams to `sink` when given; no retry once a chunk went out.
 * `admitted` is the first attempt's admission when the server gave it with the call; later attempts ask.
 */
async function exchange(ctx: JobContext, request: LMRequest, plan: CallPlan, signal: AbortSignal, sink: ChunkSink | undefined, admitted: Admission | undefined): Promise<ParsedResponse> {
  const { config, redactor } = ctx;
  const { provider, clock } = config;
  const { settings, estimate } = plan;
  for (let attempt = 0; ; attempt++) {
    const admission = attempt === 0 && admitted !== undefined ? admitted : await GenServer.call<Admission>(ctx.rt, ctx.server, { op: 'admit', tokens: estimate }, Infinity);
    if ('error' in admission) throw admission.error;
    const { waitMs } = admission.ok;
    if (waitMs > 0) ctx.telemetry.emit('lm_rate_limited', { client: config.name, waitMs });
    await sleep(clock, waitMs, signal).catch((reason: unknown) => {
      throw asLMError(reason, ctx, signal);
    });
    let delivered = false;
    try {
      let parsed: ParsedResponse;
      if (sink === undefined) {
        const delayMs = ctx.latency?.delay();
        parsed = delayMs === undefined ? await attemptOnce(ctx, request, plan, signal, attempt) : await hedged(ctx, request, plan, signal, attempt, delayMs);
      } else {
        const apiBase = typeof config.apiBase === 'string' ? config.apiBase : await config.apiBase(ctx.rt);
        const wire = provider.build({ model: config.wireModel, request, settings, apiBase, apiKey: config.apiKeySource === undefined ? config.apiKey : await currentApiKey(config, redactor), stream: true });
        if (ctx.telemetry.listenerCount('lm_request') > 0) ctx.telemetry.emit('lm_request', { client: config.name, model: config.model, attempt });
        const reply = await post({ provider: provider.name, url: wire.url, headers: { ...config.headers, ...wire.headers }, body: wire.body, timeoutMs: config.timeoutMs, clock, redactor, signal });
        if (reply.isJson) {
          // A server that does not stream (some proxies and local servers ignore `stream: true`): its whole
          // answer is one chunk per output, as a cache hit is.
          const body = await reply.json();
          parsed = provider.parse(body, request);
          noteResponseBody(parsed, body);
          replay({ ...parsed, model: config.model, cached: false }, sink);
        } else {
          const decoder = provider.decoder(request);
          try {
            for await (const event of reply.events()) {
              for (const chunk of decoder.push(event)) {
                delivered = true;
                sink.push(chunk);
              }
              if (decoder.finished) break;
            }
            if (!decoder.finished) throw new LMNetworkError(provider.name, 'the stream ended before its end marker');
          } finally {
            reply.close();
          }
          parsed = decoder.result();
        }
      }
      GenServer.cast(ctx.rt, ctx.server, { op: 'outcome', kind: 'success', usage: parsed.usage, estimate } satisfies JobReport);
      return parsed;
    } catch (raw) {
      const error = scrub(asLMError(raw, ctx, signal), redactor);
      GenServer.cast(ctx.rt, ctx.server, { op: 'outcome', kind: outcomeOf(error) } satisfies JobReport);
      const delay = delivered || signal.aborted ? undefined : retryDelay(error, attempt, config.retry, config.random);
      if (delay === undefined) throw error;
      ctx.logger.warn({ code: error.code, attempt, delayMs: delay }, `retrying after ${error.message}`);
      ctx.telemetry.emit('lm_retry', { client: config.name, code: error.code, ...(error instanceof LMHttpError ? { status: error.status } : {}), delayMs: delay, attempt });
      GenServer.cast(ctx.rt, ctx.server, { op: 'retry' } satisfies JobReport);
      await sleep(clock, delay, signal).catch((reason: unknown) => {
        throw asLMError(reason, ctx, signal);
      });
    }
  }
}

/** One non-streaming request and its parsed answer; its latency goes to the hedge window when one is kept. */
async function attemptOnce(ctx: JobContext, request: LMRequest, plan: CallPlan, signal: AbortSignal, attempt: number): Promise<ParsedResponse> {
  const { config, redactor } = ctx;
  const { provider, clock } = config;
  const apiBase = typeof config.apiBase === 'string' ? config.apiBase : await config.apiBase(ctx.rt);
  const wire = provider.build({ model: config.wireModel, request, settings: plan.settings, apiBase, apiKey: config.apiKeySource === undefined ? config.apiKey : await currentApiKey(config, redactor), stream: false });
  if (ctx.telemetry.listenerCount('lm_request') > 0) ctx.telemetry.emit('lm_request', { client: config.name, model: config.model, attempt });
  const started = ctx.latency === undefined ? 0 : clock.now();
  const reply = await post({ provider: provider.name, url: wire.url, headers: { ...config.headers, ...wire.headers }, body: wire.body, timeoutMs: config.timeoutMs, clock, redactor, signal });
  const body: unknown = await reply.json();
  const parsed = provider.parse(body, request);
  noteResponseBody(parsed, body);
  ctx.latency?.record(clock.now() - started);
  return parsed;
}

/** Why the slower of a hedged pair was stopped (the reason its aborted request carries). */
const HEDGE_LOST = 'hedge: the other request answered first';

/**
 * The attempt, and after `delayMs` without an answer a duplicate (if the server admits one): the first answer
 * wins and the other is aborted; a failure waits for the other request while one is still out. exchange()
 * reports the attempt's outcome (the winner's usage, once); the second request's own outcome is reported here:
 * abandoned (not a failure) when it answered or was aborted as the loser, its failure otherwise.
 */
function hedged(ctx: JobContext, request: LMRequest, plan: CallPlan, signal: AbortSignal, attempt: number, delayMs: number): Promise<ParsedResponse> {
  const { config } = ctx;
  const started = config.clock.now();
  const primary = new AbortController();
  let duplicate: AbortController | undefined;
  return new Promise<ParsedResponse>((resolve, reject) => {
    let settled = false;
    let out = 1;
    let primaryError: unknown;
    let timer: unknown = config.clock.setTimeout(() => {
      timer = undefined;
      void sendDuplicate();
    }, delayMs);
    const onAbort = (): void => {
      primary.abort(signal.reason);
      duplicate?.abort(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const finish = (): void => {
      settled = true;
      if (timer !== undefined) config.clock.clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const won = (winner: 'primary' | 'hedge', parsed: ParsedResponse): void => {
      if (settled) return;
      finish();
      (winner === 'primary' ? duplicate : primary)?.abort(HEDGE_LOST);
      if (duplicate !== undefined) ctx.telemetry.emit('lm_hedge_won', { client: config.name, winner, ms: config.clock.now() - started });
      resolve(parsed);
    };
    // The primary's error is the one the retry loop sees; the duplicate's only when the primary already won or was lost.
    const failed = (error: unknown, fromPrimary: boolean): void => {
      if (fromPrimary) primaryError = error;
      if (settled || --out > 0 || timer !== undefined) return;
      finish();
      reject(primaryError ?? error);
    };
    const sendDuplicate = async (): Promise<void> => {
      if (settled) return;
      const admission = await GenServer.call<HedgeAdmission>(ctx.rt, ctx.server, { op: 'hedge', tokens: plan.estimate }, Infinity).catch((): HedgeAdmission => ({ skipped: 'breaker' }));
      if (settled) {
        if ('ok' in admission) GenServer.cast(ctx.rt, ctx.server, { op: 'outcome', kind: 'abandoned' } satisfies JobReport);
        return;
      }
      if (!('ok' in admission)) {
        ctx.telemetry.emit('lm_hedge_skipped', { client: config.name, reason: admission.skipped });
        return;
      }
      out++;
      duplicate = new AbortController();
      ctx.telemetry.emit('lm_hedge_sent', { client: config.name, delayMs, attempt });
      attemptOnce(ctx, request, plan, duplicate.signal, attempt).then(
        (parsed) => {
          // The winner's success and usage are reported once, by exchange(); this second request is abandoned.
          GenServer.cast(ctx.rt, ctx.server, { op: 'outcome', kind: 'abandoned' } satisfies JobReport);
          won('hedge', parsed);
        },
        (raw: unknown) => {
          const error = scrub(asLMError(raw, ctx, duplicate!.signal), ctx.redactor);
          GenServer.cast(ctx.rt, ctx.server, { op: 'outcome', kind: duplicate!.signal.reason === HEDGE_LOST ? 'abandoned' : outcomeOf(error) } satisfies JobReport);
          failed(error, false);
        },
      );
    };
    attemptOnce(ctx, request, plan, primary.signal, attempt).then(
      (parsed) => won('primary', parsed),
      (error: unknown) => {
        // A primary that failed before the delay ends the attempt at once: the retry loop decides what follows.
        if (timer !== undefined && out === 1) {
          config.clock.clearTimeout(timer);
          timer = undefined;
        }
        failed(error, true);
      },
    );
  });
}

/** A cache hit replayed to a stream consumer: one chunk per output. */
function replay(response: LMResponse, sink: ChunkSink | undefined): void {
  response.outputs.forEach((o, index) => o.text !== '' && sink?.push({ delta: o.text, index, done: false }));
}

/**
 * Runs a call to completion. `key` is the cache key, or undefined when this call must not use the cache;
 * `admitted` is the first request's admission when the server could give it with the call. `parent` is the
 * caller's trace context, given only while an SDK is registered: the call's GenAI span starts under it.
 */
export async function runCall(ctx: JobContext, request: LMRequest, key: string | undefined, plan: CallPlan, admitted: Admission | undefined, sink?: ChunkSink, parent?: Context): Promise<LMResponse> {
  const { config } = ctx;
  const traced = parent === undefined ? undefined : startLMSpan(config, request, plan.settings, parent);
  const started = performance.now();
  // The call's own signal, aborted by the caller's or by the client's exit (through ctx.live): cheaper than
  // AbortSignal.any (a WeakRef per call) or than one listener per call on the client's signal.
  const controller = new AbortController();
  const { signal } = controller;
  const caller = request.signal;
  const onCallerAbort = (): void => controller.abort(caller?.reason);
  if (caller?.aborted === true) onCallerAbort();
  else caller?.addEventListener('abort', onCallerAbort, { once: true });
  if (ctx.serverSignal.aborted) controller.abort(ctx.serverSignal.reason);
  ctx.live.add(controller);
  try {
    if (key !== undefined && ctx.disk !== undefined) {
      const stored = await ctx.disk.get(key, (e) => ctx.telemetry.emit('lm_cache_error', { client: config.name, message: e.message })).catch((e: Error) => {
        ctx.telemetry.emit('lm_cache_error', { client: config.name, message: e.message });
        return undefined;
      });
      if (stored !== undefined) {
        GenServer.cast(ctx.rt, ctx.server, { op: 'disk_hit', key, response: structuredClone(stored) } satisfies JobReport);
        const hit: LMResponse = { ...stored, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, cached: true };
        replay(hit, sink);
        endLMSpan(traced, hit);
        return hit;
      }
    }
    const parts: ParsedResponse[] = [];
    if (plan.requests === 1) {
      parts.push(await exchange(ctx, request, plan, signal, sink, admitted));
    } else {
      // The provider has no `n`: ask n times, and renumber streamed chunks so each output keeps its index.
      for (let i = 0; i < plan.requests; i++) {
        const indexed: ChunkSink | undefined = sink === undefined ? undefined : { push: (c) => sink.push({ ...c, index: i }) };
        parts.push(await exchange(ctx, request, plan, signal, indexed, i === 0 ? admitted : undefined));
      }
    }
    const outputs: LMOutput[] = parts.flatMap((p) => p.outputs);
    // One request's usage as the provider gave it (details included); the n requests of a split call, summed.
    // A request that reported no usage adds none (DSPy's combine); when none reported any, neither does the call.
    const usage = parts.length === 1 ? parts[0]!.usage : summedUsage(parts);
    const response: LMResponse = { outputs, usage, model: config.model, cached: false };
    if (traced !== undefined) carryResponseMeta(parts[0], response);
    if (ctx.telemetry.listenerCount('lm_response') > 0) ctx.telemetry.emit('lm_response', { client: config.name, model: config.model, usage, ms: performance.now() - started });
    if (key !== undefined) {
      // A copy: the caller owns `response` and may change it before the server stores the cast.
      GenServer.cast(ctx.rt, ctx.server, { op: 'store', key, response: structuredClone(response) } satisfies JobReport);
      await ctx.disk?.set(key, response).catch((e: Error) => ctx.telemetry.emit('lm_cache_error', { client: config.name, message: ctx.redactor.text(e.message) }));
    }
    endLMSpan(traced, response);
    return response;
  } catch (raw) {
    const error = scrub(asLMError(raw, ctx, signal), ctx.redactor);
    ctx.telemetry.emit('lm_error', { client: config.name, code: error.code, message: error.message });
    ctx.logger.debug({ code: error.code }, error.message);
    failLMSpan(traced, error);
    throw error;
  } finally {
    ctx.live.delete(controller);
    caller?.removeEventListener('abort', onCallerAbort);
  }
}

/** The usage of the n requests of a split call: the reported ones summed; NO_USAGE when none reported any. */
function summedUsage(parts: readonly ParsedResponse[]): LMUsage {
  const reported = parts.map((p) => p.usage).filter((u) => !isEmptyUsage(u));
  return reported.length === 0 ? NO_USAGE : reported.reduce<LMUsage>((u, next) => mergeUsage(u, next), { promptTokens: 0, completionTokens: 0, totalTokens: 0 });
}
