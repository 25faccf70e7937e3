// OpenAI chat completions, the wire that vLLM, Ollama, llama.cpp, LM Studio and the embedded LocalLM speak.
// Structured output is response_format json_schema (strict by default); tools are `function` tools; the
// stream is SSE chunks of choice deltas ending in [DONE], with usage in the last chunk (include_usage).

import type { LMMessage, LMOutput, LMStreamChunk, LMUsage, ToolCall } from '../../primitives/lm.js';
import { LMBadResponse, LMHttpError } from '../errors.js';
import type { SseEvent } from '../sse.js';
import { Shape, streamEventJson, NO_USAGE, parseArgs, passthrough, usageOf, type BuildInput, type ParsedResponse, type Provider, type StreamDecoder, type WireRequest } from './types.js';
import { versionedBase } from './api_base.js';
import { noteResponseBody } from '../../tracing/lm_span.js';

/** The version segment of the endpoints (see api_base.ts). */
const API_VERSION = 'v1';

const NAME = 'openai';

function wireMessage(m: LMMessage): Record<string, unknown> {
  if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId ?? '', content: m.content };
  const out: Record<string, unknown> = { role: m.role, content: m.contentParts ?? m.content };
  if (m.toolCalls !== undefined && m.toolCalls.length > 0) {
    out.content = m.content === '' ? null : m.content;
    out.tool_calls = m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.args) } }));
  }
  return out;
}

function build({ model, request, settings, apiBase, apiKey, stream }: BuildInput): WireRequest {
  const body: Record<string, unknown> = { model, messages: request.messages.map(wireMessage), ...passthrough(settings) };
  if (settings.temperature !== undefined) body.temperature = settings.temperature;
  if (settings.max_tokens !== undefined) body.max_tokens = settings.max_tokens;
  if (settings.n !== undefined && settings.n !== 1) body.n = settings.n;
  if (settings.stop !== undefined && settings.stop.length > 0) body.stop = settings.stop;
  if (settings.top_p !== undefined) body.top_p = settings.top_p;
  if (request.responseFormat !== undefined) {
    const { name, schema, strict } = request.responseFormat;
    body.response_format = { type: 'json_schema', json_schema: { name, schema, strict: strict ?? true } };
  }
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));
  }
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  const headers: Record<string, string> = apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` };
  return { url: `${versionedBase(apiBase, API_VERSION)}/chat/completions`, headers, body };
}

function toolCallsOf(shape: Shape, value: unknown): ToolCall[] | undefined {
  if (value === undefined || value === null) return undefined;
  return shape.array(value, 'message.tool_calls').map((raw, i) => {
    const call = shape.object(raw, `tool_calls[${i}]`);
    const fn = shape.object(call.function, `tool_calls[${i}].function`);
    if (typeof fn.name !== 'string') shape.fail(`tool_calls[${i}].function.name is not a string`);
    const args = typeof fn.arguments === 'string' ? parseArgs(fn.arguments) : shape.object(fn.arguments ?? {}, 'arguments');
    return { id: typeof call.id === 'string' ? call.id : `call_${i}`, name: fn.name, args };
  });
}

function parse(body: unknown): ParsedResponse {
  const shape: Shape = new Shape(NAME, body);
  const root = shape.object(body, 'the body');
  if (root.error !== undefined) shape.fail('the body is an error object');
  const choices = shape.array(root.choices, 'choices');
  const outputs: LMOutput[] = choices.map((raw, i) => {
    const choice = shape.object(raw, `choices[${i}]`);
    const message = shape.object(choice.message, `choices[${i}].message`);
    if (message.content !== null && message.content !== undefined && typeof message.content !== 'string') shape.fail(`choices[${i}].message.content is not a string`);
    const toolCalls = toolCallsOf(shape, message.tool_calls);
    return {
      text: typeof message.content === 'string' ? message.content : '',
      ...(toolCalls === undefined || toolCalls.length === 0 ? {} : { toolCalls }),
      ...(typeof choice.finish_reason === 'string' ? { finishReason: choice.finish_reason } : {}),
    };
  });
  const usage = root.usage === undefined || root.usage === null ? undefined : shape.object(root.usage, 'usage');
  return {
    outputs,
    usage: usage === undefined ? NO_USAGE : openaiUsage(shape, usage),
  };
}

/** OpenAI's usage object, its token details (prompt_tokens_details.cached_tokens, ...) in camelCase. */
function openaiUsage(shape: Shape, u: Record<string, unknown>): LMUsage {
  const usage = usageOf(shape.number(u.prompt_tokens), shape.number(u.completion_tokens), shape.number(u.total_tokens) || undefined);
  const prompt = tokenDetails(u.prompt_tokens_details, PROMPT_DETAILS_ORDER);
  const completion = tokenDetails(u.completion_tokens_details, COMPLETION_DETAILS_ORDER);
  if (prompt !== undefined) usage.promptTokensDetails = prompt;
  if (completion !== undefined) usage.completionTokensDetails = completion;
  return usage;
}

/**
 * The details DSPy keeps, first and in DSPy's order (call_result.py usage_dict), so that summed details list
 * their keys in the order DSPy's merge gives them; OpenRouter's cache_write_tokens is the prompt-cache write
 * Anthropic calls cache creation (cacheCreationTokens, priced as such).
 */
const PROMPT_DETAILS_ORDER = ['cachedTokens', 'cacheCreationTokens', 'audioTokens'];
const COMPLETION_DETAILS_ORDER = ['reasoningTokens', 'audioTokens'];
const DETAIL_NAMES: Readonly<Record<string, string>> = { cacheWriteTokens: 'cacheCreationTokens' };

function tokenDetails(value: unknown, order: readonly string[]): Record<string, number> | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const found: Record<string, number> = {};
  for (const [key, count] of Object.entries(value)) {
    if (typeof count !== 'number') continue;
    const name = key.replace(/_([a-z])/g, (_m, letter: string) => letter.toUpperCase());
    found[DETAIL_NAMES[name] ?? name] = count;
  }
  const details: Record<string, number> = {};
  for (const key of order) if (key in found) details[key] = found[key]!;
  for (const key of Object.keys(found)) if (!(key in details)) details[key] = found[key]!;
  return Object.keys(details).length === 0 ? undefined : details;
}

interface PartialCall {
  id: string;
  name: string;
  args: string;
}

function decoder(): StreamDecoder {
  const texts: string[] = [];
  const reasons: (string | undefined)[] = [];
  const calls: Map<number, PartialCall>[] = [];
  let usage: LMUsage = NO_USAGE;
  let finished = false;
  const meta: { id?: unknown; model?: unknown } = {};
  return {
    get finished() {
      return finished;
    },
    push(event: SseEvent): LMStreamChunk[] {
      if (event.data.trim() === '[DONE]') {
        finished = true;
        return [];
      }
      const { shape, json } = streamEventJson(NAME, event);
      const root = shape.object(json, 'the stream chunk');
      if (root.error !== undefined) throw new LMHttpError(NAME, 500, JSON.stringify(root.error));
      meta.id ??= root.id;
      meta.model ??= root.model;
      if (root.usage !== undefined && root.usage !== null) {
        const u = shape.object(root.usage, 'usage');
        usage = openaiUsage(shape, u);
      }
      const chunks: LMStreamChunk[] = [];
      for (const raw of shape.array(root.choices ?? [], 'choices')) {
        const choice = shape.object(raw, 'choice');
        const index = typeof choice.index === 'number' ? choice.index : 0;
        const delta = shape.object(choice.delta ?? {}, 'choice.delta');
        texts[index] ??= '';
        if (typeof choice.finish_reason === 'string') reasons[index] = choice.finish_reason;
        if (typeof delta.content === 'string' && delta.content.length > 0) {
          texts[index] += delta.content;
          chunks.push({ delta: delta.content, index, done: false });
        }
        for (const rawCall of shape.array(delta.tool_calls ?? [], 'delta.tool_calls')) {
          const call = shape.object(rawCall, 'tool call delta');
          const slot = typeof call.index === 'number' ? call.index : 0;
          const byIndex = (calls[index] ??= new Map());
          const partial = byIndex.get(slot) ?? { id: '', name: '', args: '' };
          const fn = shape.object(call.function ?? {}, 'tool call delta function');
          if (typeof call.id === 'string') partial.id = call.id;
          if (typeof fn.name === 'string') partial.name += fn.name;
          if (typeof fn.arguments === 'string') partial.args += fn.arguments;
          byIndex.set(slot, partial);
        }
      }
      return chunks;
    },
    result(): ParsedResponse {
      const n = Math.max(texts.length, calls.length, 1);
      const outputs: LMOutput[] = [];
      for (let i = 0; i < n; i++) {
        const toolCalls = [...(calls[i]?.entries() ?? [])].sort(([a], [b]) => a - b).map(([slot, c]) => ({ id: c.id || `call_${slot}`, name: c.name, args: parseArgs(c.args) }));
        outputs.push({ text: texts[i] ?? '', ...(toolCalls.length > 0 ? { toolCalls } : {}), ...(reasons[i] === undefined ? {} : { finishReason: reasons[i] }) });
      }
      const parsed = { outputs, usage };
      noteResponseBody(parsed, meta);
      return parsed;
    },
  };
}

export const openai: Provider = {
  name: NAME,
  defaultApiBase: 'https://api.openai.com/v1',
  apiVersion: API_VERSION,
  defaultKeyEnv: 'OPENAI_API_KEY',
  nativeN: true,
  build,
  parse,
  decoder,
};
