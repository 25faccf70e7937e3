// Anthropic Messages API. System messages go to `system`; tool results are user turns of tool_result
// blocks. Structured output is a forced tool whose input_schema is the schema: the tool_use input becomes the
// output text as JSON. Streaming is typed SSE events (message_start, content_block_delta, message_delta).

import type { LMMessage, LMOutput, LMRequest, LMStreamChunk, LMUsage, ToolCall } from '../../primitives/lm.js';
import { LMBadResponse, LMHttpError } from '../errors.js';
import type { SseEvent } from '../sse.js';
import { anthropicBlock } from './content_parts.js';
import { NO_USAGE, Shape, isJsonMode, streamEventJson, parseArgs, passthrough, usageOf, type BuildInput, type ParsedResponse, type Provider, type StreamDecoder, type WireRequest } from './types.js';
import { versionedBase } from './api_base.js';
import { noteResponseBody } from '../../tracing/lm_span.js';

/** The version segment of the endpoints (see api_base.ts). */
const API_VERSION = 'v1';

const NAME = 'anthropic';
const VERSION = '2023-06-01';
/** Anthropic requires max_tokens; DSPy's default is also 4000 for chat models it knows nothing about. */
const DEFAULT_MAX_TOKENS = 4096;

function content(m: LMMessage): unknown {
  if (m.role === 'tool') return [{ type: 'tool_result', tool_use_id: m.toolCallId ?? '', content: m.content }];
  if (m.toolCalls === undefined || m.toolCalls.length === 0) return m.contentParts === undefined ? m.content : m.contentParts.map(anthropicBlock);
  return [...(m.content === '' ? [] : [{ type: 'text', text: m.content }]), ...m.toolCalls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: c.args }))];
}

function build({ model, request, settings, apiBase, apiKey, stream }: BuildInput): WireRequest {
  const system = request.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
  const messages = request.messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role === 'assistant' ? 'assistant' : 'user', content: content(m) }));
  const body: Record<string, unknown> = { model, messages, max_tokens: settings.max_tokens ?? DEFAULT_MAX_TOKENS, ...passthrough(settings) };
  // The Messages API has no JSON mode: a json_object request (JSONAdapter on an LM declared json_object) is
  // left to the prompt, which already asks for JSON. A schema travels as the forced tool below.
  if (isJsonMode(body.response_format)) delete body.response_format;
  if (system !== '') body.system = system;
  if (settings.temperature !== undefined) body.temperature = settings.temperature;
  if (settings.top_p !== undefined) body.top_p = settings.top_p;
  if (settings.stop !== undefined && settings.stop.length > 0) body.stop_sequences = settings.stop;
  const tools = (request.tools ?? []).map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters }));
  if (request.responseFormat !== undefined) {
    const { name, schema } = request.responseFormat;
    tools.push({ name, description: `Respond with the ${name} object.`, input_schema: schema });
    body.tool_choice = { type: 'tool', name };
  }
  if (tools.length > 0) body.tools = tools;
  if (stream) body.stream = true;
  const headers: Record<string, string> = { 'anthropic-version': VERSION };
  if (apiKey !== undefined) headers['x-api-key'] = apiKey;
  return { url: `${versionedBase(apiBase, API_VERSION)}/messages`, headers, body };
}

/** The forced structured-output tool is not a tool call to the caller: its input is the answer. */
function assemble(text: string, calls: ToolCall[], forced: string | undefined, finishReason: string | undefined): LMOutput {
  const answer = forced === undefined ? undefined : calls.find((c) => c.name === forced);
  const rest = calls.filter((c) => c !== answer);
  return {
    text: answer === undefined ? text : JSON.stringify(answer.args),
    ...(rest.length > 0 ? { toolCalls: rest } : {}),
    ...(finishReason === undefined ? {} : { finishReason }),
  };
}

/**
 * Anthropic's usage as LiteLLM reports it to DSPy: `input_tokens` counts only the prompt past the last cache
 * breakpoint, so the prompt tokens add the cache reads and writes, which promptTokensDetails names
 * (cachedTokens, cacheCreationTokens) for the price table.
 */
function anthropicUsage(shape: Shape, usage: Record<string, unknown>): LMUsage {
  if (Object.keys(usage).length === 0) return NO_USAGE;
  const read = shape.number(usage.cache_read_input_tokens);
  const written = shape.number(usage.cache_creation_input_tokens);
  const result = usageOf(shape.number(usage.input_tokens) + read + written, shape.number(usage.output_tokens));
  // Only the cache counts the reply names, as DSPy keeps them (cachedTokens first, as in its usage dict).
  const details: Record<string, number> = {};
  if (typeof usage.cache_read_input_tokens === 'number') details['cachedTokens'] = read;
  if (typeof usage.cache_creation_input_tokens === 'number') details['cacheCreationTokens'] = written;
  if (Object.keys(details).length > 0) result.promptTokensDetails = details;
  return result;
}

function parse(body: unknown, request: LMRequest): ParsedResponse {
  const forced = request.responseFormat?.name;
  const shape: Shape = new Shape(NAME, body);
  const root = shape.object(body, 'the body');
  if (root.type === 'error') shape.fail('the body is an error object');
  let text = '';
  const calls: ToolCall[] = [];
  for (const [i, raw] of shape.array(root.content, 'content').entries()) {
    const block = shape.object(raw, `content[${i}]`);
    if (block.type === 'text' && typeof block.text === 'string') text += block.text;
    else if (block.type === 'tool_use') {
      if (typeof block.name !== 'string') shape.fail(`content[${i}].name is not a string`);
      calls.push({ id: typeof block.id === 'string' ? block.id : `toolu_${i}`, name: block.name, args: shape.object(block.input ?? {}, `content[${i}].input`) });
    }
  }
  const usage = root.usage === null ? {} : shape.object(root.usage ?? {}, 'usage');
  const reason = typeof root.stop_reason === 'string' ? root.stop_reason : undefined;
  return { outputs: [assemble(text, calls, forced, reason)], usage: anthropicUsage(shape, usage) };
}

function decoder(request: LMRequest): StreamDecoder {
  const forced = request.responseFormat?.name;
  let text = '';
  const blocks = new Map<number, { id: string; name: string; json: string }>();
  // message_start's usage, updated by the counts message_delta carries (output_tokens, and input counts in newer APIs).
  const usage: Record<string, unknown> = {};
  const meta: { id?: unknown; model?: unknown } = {};
  let reason: string | undefined;
  let finished = false;
  return {
    get finished() {
      return finished;
    },
    push(event: SseEvent): LMStreamChunk[] {
      const { shape, json } = streamEventJson(NAME, event, `stream event ${event.event}`);
      const root = shape.object(json, 'the stream event');
      const index = typeof root.index === 'number' ? root.index : 0;
      switch (root.type) {
        case 'message_start': {
          const message = shape.object(root.message, 'message');
          Object.assign(usage, shape.object(message.usage ?? {}, 'usage'));
          meta.id = message.id;
          meta.model = message.model;
          return [];
        }
        case 'content_block_start': {
          const block = shape.object(root.content_block, 'content_block');
          if (block.type === 'tool_use') blocks.set(index, { id: String(block.id ?? `toolu_${index}`), name: String(block.name ?? ''), json: '' });
          if (block.type === 'text' && typeof block.text === 'string' && block.text !== '' && forced === undefined) {
            text += block.text;
            return [{ delta: block.text, index: 0, done: false }];
          }
          return [];
        }
        case 'content_block_delta': {
          const delta = shape.object(root.delta, 'delta');
          if (delta.type === 'text_delta' && typeof delta.text === 'string') {
            text += delta.text;
            return [{ delta: delta.text, index: 0, done: false }];
          }
          if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
            const block = blocks.get(index);
            if (block !== undefined) block.json += delta.partial_json;
            // The forced tool's JSON is the answer, so it streams as text.
            if (block !== undefined && block.name === forced) return [{ delta: delta.partial_json, index: 0, done: false }];
          }
          return [];
        }
        case 'message_delta': {
          const delta = shape.object(root.delta ?? {}, 'delta');
          if (typeof delta.stop_reason === 'string') reason = delta.stop_reason;
          const counts = root.usage === undefined || root.usage === null ? {} : shape.object(root.usage, 'usage');
          for (const [key, value] of Object.entries(counts)) if (typeof value === 'number' && value > 0) usage[key] = value;
          return [];
        }
        case 'message_stop':
          finished = true;
          return [];
        case 'error': {
          const error = shape.object(root.error ?? {}, 'error');
          const status = error.type === 'overloaded_error' ? 529 : 500;
          throw new LMHttpError(NAME, status, JSON.stringify(error));
        }
        default:
          return []; // ping, content_block_stop
      }
    },
    result(): ParsedResponse {
      const calls = [...blocks.entries()].sort(([a], [b]) => a - b).map(([, b]) => ({ id: b.id, name: b.name, args: parseArgs(b.json) }));
      const parsed = { outputs: [assemble(text, calls, forced, reason)], usage: anthropicUsage(new Shape(NAME, usage), usage) };
      noteResponseBody(parsed, meta);
      return parsed;
    },
  };
}

export const anthropic: Provider = {
  name: NAME,
  defaultApiBase: 'https://api.anthropic.com',
  apiVersion: API_VERSION,
  defaultKeyEnv: 'ANTHROPIC_API_KEY',
  nativeN: false,
  build,
  parse,
  decoder,
};
