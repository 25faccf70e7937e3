// The contract every language-model client implements, and what modules and adapters rely on. It mirrors
// DSPy's BaseLM: a model name, default kwargs, and a call from chat messages to one or more outputs.

import type { LMUsage, UsageTracker } from '../usage/tracker.js';

/** Token counts of a call: defined with the usage tracker that sums them (usage/tracker.ts), part of this contract. */
export type { LMUsage };

/** The role of a chat message. */
export type Role = 'system' | 'user' | 'assistant' | 'tool';

/** A tool call an LM asked for: id, function name and JSON arguments. */
export interface ToolCall {
  id: string;
  name: string;
  /** Parsed JSON arguments. */
  args: Record<string, unknown>;
}

/** One block of a user message split around DSPy custom-type markers (OpenAI content-part shape). */
export type LMContentPart = { type: 'text'; text: string } | Record<string, unknown>;

/** One chat message sent to an LM (OpenAI shape; `contentParts` for images, files and audio). */
export interface LMMessage {
  role: Role;
  content: string;
  /**
   * DSPy's split_message_content_for_custom_types: set by adapters when an input carries
   * `<<CUSTOM-TYPE-START-IDENTIFIER>>` markers (an image, a file); `content` still holds the whole text for
   * providers that send one string. Every provider sends these blocks in its own shape (providers/content_parts.ts).
   */
  contentParts?: LMContentPart[];
  toolCalls?: ToolCall[];
  toolCallId?: string;
}

/** A function the model may call (OpenAI function / Anthropic tool). */
export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

/** What an adapter sends an LM: messages plus per-call config (temperature, max_tokens, response_format, tools...). */
export interface LMRequest {
  messages: LMMessage[];
  /** Per-call settings merged over the client's defaults: temperature, max_tokens, n, stop, top_p, ... */
  config?: LMConfig;
  /** Ask for JSON matching this schema (structured output where the provider has it; a grammar locally). */
  responseFormat?: { name: string; schema: Record<string, unknown>; strict?: boolean };
  tools?: ToolDefinition[];
  signal?: AbortSignal;
  /**
   * Where this call's usage is summed (the top-level module call's tracker, when settings.trackUsage is on).
   * Predict sets it so that an LM call made after an await still counts; without it the LM reads the caller
   * context at call start. Not sent anywhere.
   */
  usageTracker?: UsageTracker;
}

/** Per-call LM settings: temperature, max_tokens, n, stop, response_format, tools and provider extras. */
export interface LMConfig {
  temperature?: number;
  max_tokens?: number;
  n?: number;
  stop?: string[];
  top_p?: number;
  /** Skip the cache for this call (DSPy's rollout_id / cache=False). */
  cache?: boolean;
  [setting: string]: unknown;
}

/** One completion: its text, tool calls and finish reason. */
export interface LMOutput {
  text: string;
  toolCalls?: ToolCall[];
  finishReason?: string;
}

/** An LM's answer: its outputs (one per n), usage, model, whether it came from the cache. */
export interface LMResponse {
  outputs: LMOutput[];
  usage: LMUsage;
  model: string;
  /** True when served from the cache (no request was made). */
  cached: boolean;
}

/** One chunk of a streamed completion (`lm.stream(request)`): the text added to output `index`; the final chunk (`done`) carries the whole response with usage. */
export interface LMStreamChunk {
  /** Text added to output `index` since the previous chunk. */
  delta: string;
  index: number;
  done: boolean;
  /** On the final chunk of each output (done: true): the whole response, with usage and tool calls. */
  response?: LMResponse;
}

/**
 * How far an LM honours a requested response format, strongest first (see adapters/structured_outputs.ts):
 * 'grammar': any JSON Schema is enforced while decoding (llama.cpp, the embedded model), open mappings too;
 * 'json_schema': strict structured outputs (OpenAI's subset); 'json_object': JSON mode only; 'none': nothing.
 */
export type StructuredOutputs = 'grammar' | 'json_schema' | 'json_object' | 'none';

export interface LM {
  /** Provider-qualified model name, e.g. "openai/gpt-4o-mini" or "local/smollm2-135m-instruct". */
  readonly model: string;
  /**
   * What JSONAdapter may ask this LM for; when absent, the default for the model name (DSPy's provider table,
   * defaultStructuredOutputs): 'none' for a self-hosted or custom name.
   */
  readonly structuredOutputs?: StructuredOutputs;
  /** Default settings (temperature, max_tokens, ...) that per-call config overrides. */
  readonly defaults: LMConfig;
  call(request: LMRequest): Promise<LMResponse>;
  stream?(request: LMRequest): AsyncIterable<LMStreamChunk>;
}
