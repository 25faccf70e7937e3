// The contract of a wire format (OpenAI chat completions, Anthropic Messages, Gemini generateContent):
// request building, response parsing and an incremental stream decoder. Providers are pure: no I/O, no
// retries, no state beyond one stream, so each one is tested against captured bodies.

import type { LMConfig, LMOutput, LMRequest, LMStreamChunk, LMUsage, ToolCall } from '../../primitives/lm.js';
import { LMBadResponse } from '../errors.js';
import type { SseEvent } from '../sse.js';

export interface WireRequest {
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export interface BuildInput {
  /** The model id without the provider prefix ("gpt-4o-mini"). */
  model: string;
  request: LMRequest;
  /** Defaults merged with the request's config, without `cache` and `rollout_id`. */
  settings: LMConfig;
  apiBase: string;
  apiKey: string | undefined;
  stream: boolean;
}

export interface ParsedResponse {
  outputs: LMOutput[];
  usage: LMUsage;
}

export interface StreamDecoder {
  /** Text deltas carried by one SSE event (an empty list for bookkeeping events). Throws LMError on an error event. */
  push(event: SseEvent): LMStreamChunk[];
  /** Whether the provider has said the stream is over ([DONE], message_stop). */
  readonly finished: boolean;
  /** The assembled outputs and usage once the stream is over. */
  result(): ParsedResponse;
}

export interface Provider {
  readonly name: 'openai' | 'anthropic' | 'gemini';
  readonly defaultApiBase: string;
  /** The version segment of its endpoints (v1, v1beta), added to an apiBase that ends in none. */
  readonly apiVersion: string;
  readonly defaultKeyEnv: string;
  /** Whether the API returns n outputs in one request; otherwise the client makes n requests. */
  readonly nativeN: boolean;
  build(input: BuildInput): WireRequest;
  /** The request is passed back because how a reply reads can depend on it (Anthropic's forced tool). */
  parse(body: unknown, request: LMRequest): ParsedResponse;
  decoder(request: LMRequest): StreamDecoder;
}

/** The usage of a reply that carried none: zeros, left out of usage tracking (DSPy records nothing for it). */
export const NO_USAGE: Readonly<LMUsage> = Object.freeze({ promptTokens: 0, completionTokens: 0, totalTokens: 0, reported: false });

/** A small reader over untrusted JSON that turns every shape mismatch into LMBadResponse. */
export class Shape {
  constructor(readonly provider: string, readonly body: unknown) {}

  fail(detail: string): never {
    // Uncut: a cut through an echoed key could not be redacted. The client's redaction cuts it afterwards.
    throw new LMBadResponse(this.provider, detail, JSON.stringify(this.body) ?? '');
  }

  object(value: unknown, what: string): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(`${what} is not an object`);
    return value as Record<string, unknown>;
  }

  array(value: unknown, what: string): unknown[] {
    if (!Array.isArray(value)) this.fail(`${what} is not an array`);
    return value;
  }

  number(value: unknown): number {
    return typeof value === 'number' && Number.isFinite(value) ? value : 0;
  }
}

/** Parses a tool call's JSON arguments; a model that wrote invalid JSON gets its text under `_raw`. */
export function parseArgs(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
  } catch {
    return { _raw: text };
  }
}

/** Settings every provider maps by name; the rest pass through to the wire body. */
export const MAPPED_SETTINGS = new Set(['temperature', 'max_tokens', 'n', 'stop', 'top_p']);

export function passthrough(settings: LMConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(settings)) if (!MAPPED_SETTINGS.has(k) && v !== undefined) out[k] = v;
  return out;
}

/** Whether a config's response_format asks for JSON mode ({ type: 'json_object' }). */
export function isJsonMode(format: unknown): boolean {
  return format !== null && typeof format === 'object' && (format as { type?: unknown }).type === 'json_object';
}

export function usageOf(prompt: number, completion: number, total?: number): LMUsage {
  return { promptTokens: prompt, completionTokens: completion, totalTokens: total ?? prompt + completion };
}

export type { ToolCall };

/** A stream event's JSON body and a Shape to read it with; a body that is not JSON is an LMBadResponse. */
export function streamEventJson(provider: string, event: SseEvent, what = 'a stream event'): { shape: Shape; json: unknown } {
  let json: unknown;
  try {
    json = JSON.parse(event.data);
  } catch {
    throw new LMBadResponse(provider, `${what} is not valid JSON`, event.data);
  }
  return { shape: new Shape(provider, json), json };
}
