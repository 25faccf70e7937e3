// The options of LM.start / LM.childSpec and their normalization: the provider from the model prefix, the
// API key (a value, a function asked before every attempt, or the environment read once; held only by the
// client process), retries, limits, cache paths.

import type { Caller } from '@dspex/runtime';
import type { LMConfig, StructuredOutputs } from '../primitives/lm.js';
import type { BreakerOptions } from './circuit_breaker.js';
import { systemClock, type Clock } from './clock.js';
import { LMAuthError, LMConfigError, type Redactor } from './errors.js';
import { normalizeHedge, type HedgeOptions, type HedgePolicy } from './hedge.js';
import { DEFAULT_RETRY, type RetryPolicy } from './http.js';
import { anthropic } from './providers/anthropic.js';
import { defaultStructuredOutputs, isStructuredOutputs } from '../adapters/structured_outputs.js';
import { gemini } from './providers/gemini.js';
import { openai } from './providers/openai.js';
import type { Provider } from './providers/types.js';
import type { RateLimit } from './rate_limiter.js';

/** Where a client sends requests: a URL, or a function asked before every attempt (LocalLM's moving port). */
export type ApiBase = string | ((caller: Caller) => string | Promise<string>);

/**
 * An API key, or a function asked for the current key before every attempt (retries and hedges included), so a
 * rotated key is used from the next attempt on. The function may be async; cache inside it if fetching is slow.
 */
export type ApiKey = string | (() => string | Promise<string>);

/** An LM client's options: model, key, base URL, defaults, retries, timeouts, rate limit, breaker, cache, hedging, structured outputs (see the README's "LM clients"). */
export interface LMOptions {
  /** Registered as `LMClient:<name>`; defaults to the model string. */
  name?: string;
  /** provider/model: openai/..., anthropic/..., gemini/..., local/... (OpenAI wire; needs apiBase). Another prefix with apiBase is OpenAI-compatible. */
  model: string;
  /**
   * Where the provider's API is, with or without its version segment, with or without a trailing slash:
   * `http://127.0.0.1:8000` and `http://127.0.0.1:8000/v1/` both reach `.../v1/chat/completions` (see README).
   */
  apiBase?: ApiBase;
  /** The API key, or a function giving the current one (key rotation). Instead of apiKeyEnv. */
  apiKey?: ApiKey;
  /** The environment variable holding the API key (default OPENAI_API_KEY, ANTHROPIC_API_KEY or GEMINI_API_KEY). */
  apiKeyEnv?: string;
  /** Settings every call starts from: temperature, max_tokens, ... */
  defaults?: LMConfig;
  /** Retries after the first attempt, or the full policy (`timeouts: true` retries timeouts too; default false). */
  retries?: number | Partial<RetryPolicy>;
  rateLimit?: RateLimit;
  /** false turns the breaker off. */
  breaker?: BreakerOptions | false;
  /** memory: LRU on (default) / off / max entries; disk: off (default) / on at .dspex-cache / a directory. */
  cache?: { memory?: boolean | number; disk?: boolean | string };
  /**
   * Per-attempt timeout (default 120000 ms): the wait for the response, and for a streaming call the longest
   * silence between chunks (a stream that keeps delivering is never cut). Not retried unless retries.timeouts.
   */
  timeoutMs?: number;
  /** Extra HTTP headers (never part of the cache key). */
  headers?: Record<string, string>;
  /** Time source for retries, limits, the breaker and timeouts (tests pass a manual clock). */
  clock?: Clock;
  /** Jitter source in [0, 1) (default Math.random). */
  random?: () => number;
  /** Hedged requests: a duplicate of an attempt slower than the observed p95 (off by default; see hedge.ts). */
  hedge?: boolean | HedgeOptions;
  /**
   * What response format the model honours, for JSONAdapter: 'grammar' (any JSON Schema, enforced while
   * decoding), 'json_schema', 'json_object' or 'none'. Default: DSPy's answer for the model name
   * (defaultStructuredOutputs), which is 'none' for a self-hosted or custom name.
   */
  structuredOutputs?: StructuredOutputs;
}

export interface ClientConfig {
  name: string;
  /** The full model string, as given ("openai/gpt-4o-mini"). */
  model: string;
  /** The model id sent on the wire ("gpt-4o-mini"). */
  wireModel: string;
  provider: Provider;
  apiBase: ApiBase;
  /** The key when it is a value (given, or read from the environment). */
  apiKey: string | undefined;
  /** The function that gives the key, when apiKey was one (see currentApiKey). */
  apiKeySource: (() => string | Promise<string>) | undefined;
  defaults: LMConfig;
  retry: RetryPolicy;
  rateLimit: RateLimit | undefined;
  breaker: BreakerOptions | false | undefined;
  memoryCache: number;
  diskCache: string | undefined;
  timeoutMs: number;
  headers: Record<string, string>;
  clock: Clock;
  random: () => number;
  /** Undefined when hedging is off. */
  hedge: HedgePolicy | undefined;
  /** Declared, or the default for the model name. */
  structuredOutputs: StructuredOutputs;
}

/** Where `cache: { disk: true }` keeps responses by default, relative to the working directory. */
export const DEFAULT_DISK_CACHE_DIR = '.dspex-cache';
const DEFAULT_MEMORY_ENTRIES = 10_000;

export function serverName(name: string): string {
  return `LMClient:${name}`;
}

/** Validates options and reads the key from the environment. Throws LMConfigError or LMAuthError. */
export function normalizeOptions(options: LMOptions, env: NodeJS.ProcessEnv = process.env): ClientConfig {
  if (options === null || typeof options !== 'object' || typeof options.model !== 'string') {
    throw new LMConfigError('LM options need a model string such as "openai/gpt-4o-mini".');
  }
  const slash = options.model.indexOf('/');
  const prefix = slash === -1 ? 'openai' : options.model.slice(0, slash);
  const wireModel = slash === -1 ? options.model : options.model.slice(slash + 1);
  if (wireModel === '') throw new LMConfigError(`model "${options.model}" has a provider prefix but no model id after it.`);
  const provider = prefix === 'anthropic' ? anthropic : prefix === 'gemini' ? gemini : openai;
  const known = prefix === 'openai' || prefix === 'anthropic' || prefix === 'gemini';
  if (!known && options.apiBase === undefined) {
    throw new LMConfigError(`model "${options.model}": unknown provider "${prefix}"; pass apiBase to use it as an OpenAI-compatible server, or use openai/, anthropic/ or gemini/.`);
  }
  const given = options.apiKey;
  if (given !== undefined && options.apiKeyEnv !== undefined) throw new LMConfigError(`model "${options.model}": pass apiKey or apiKeyEnv, not both.`);
  if (given !== undefined && typeof given !== 'function' && nonEmpty(given) === undefined) {
    throw new LMConfigError(`model "${options.model}": apiKey must be a non-empty string or a function returning one, not ${JSON.stringify(given)}.`);
  }
  const keyEnv = given !== undefined ? undefined : (options.apiKeyEnv ?? (known ? provider.defaultKeyEnv : undefined));
  const apiKey = typeof given === 'string' ? nonEmpty(given) : keyEnv === undefined ? undefined : nonEmpty(env[keyEnv]);
  const apiKeySource = typeof given === 'function' ? given : undefined;
  // Hosted endpoints need a key; a self-hosted one (apiBase given, or local/) may not.
  if (apiKey === undefined && apiKeySource === undefined && known && options.apiBase === undefined) {
    throw new LMAuthError(provider.name, undefined, `no API key: set ${keyEnv} in the environment, pass apiKeyEnv (the variable that holds it) or apiKey.`);
  }
  if (apiKey === undefined && options.apiKeyEnv !== undefined) {
    throw new LMAuthError(provider.name, undefined, `${options.apiKeyEnv} is not set in the environment.`);
  }
  const retries = typeof options.retries === 'number' ? { max: options.retries } : (options.retries ?? {});
  const retry = { ...DEFAULT_RETRY, ...retries };
  if (!Number.isInteger(retry.max) || retry.max < 0) throw new LMConfigError(`retries must be a non-negative integer, not ${String(retry.max)}.`);
  if (typeof retry.timeouts !== 'boolean') throw new LMConfigError(`retries.timeouts must be true or false, not ${String(retry.timeouts)}.`);
  for (const [key, value] of Object.entries(options.rateLimit ?? {})) {
    if (value !== undefined && !(typeof value === 'number' && value > 0)) throw new LMConfigError(`rateLimit.${key} must be a positive number.`);
  }
  if (options.structuredOutputs !== undefined && !isStructuredOutputs(options.structuredOutputs)) {
    throw new LMConfigError(`structuredOutputs must be 'grammar', 'json_schema', 'json_object' or 'none', not ${JSON.stringify(options.structuredOutputs)}.`);
  }
  const memory = options.cache?.memory ?? true;
  const disk = options.cache?.disk ?? false;
  return {
    name: options.name ?? options.model,
    model: options.model,
    wireModel,
    provider,
    apiBase: options.apiBase ?? provider.defaultApiBase,
    apiKey,
    apiKeySource,
    defaults: { ...(options.defaults ?? {}) },
    retry,
    rateLimit: options.rateLimit,
    breaker: options.breaker,
    memoryCache: memory === true ? DEFAULT_MEMORY_ENTRIES : memory === false ? 0 : Math.max(0, Math.floor(memory)),
    diskCache: disk === true ? DEFAULT_DISK_CACHE_DIR : disk === false ? undefined : disk,
    timeoutMs: options.timeoutMs ?? 120_000,
    headers: { ...(options.headers ?? {}) },
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    hedge: normalizeHedge(options.hedge),
    structuredOutputs: options.structuredOutputs ?? defaultStructuredOutputs(options.model),
  };
}

/**
 * The key for the next attempt: the value, or what the apiKey function gives now (added to the redactor, so a
 * rotated key never shows in an error or a log). LMAuthError when the function fails or gives no key.
 */
export async function currentApiKey(config: ClientConfig, redactor: Redactor): Promise<string | undefined> {
  if (config.apiKeySource === undefined) return config.apiKey;
  let key: unknown;
  try {
    key = await config.apiKeySource();
  } catch (error) {
    throw new LMAuthError(config.provider.name, undefined, `the apiKey function failed (${redactor.text(error instanceof Error ? error.message : String(error))}); the request was not sent. Fix the key source.`);
  }
  const trimmed = typeof key === 'string' ? nonEmpty(key) : undefined;
  if (trimmed === undefined) throw new LMAuthError(config.provider.name, undefined, 'the apiKey function gave no key (an empty or non-string value); the request was not sent.');
  redactor.add(trimmed);
  return trimmed;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
