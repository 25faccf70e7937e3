// Gemini generateContent (and streamGenerateContent?alt=sse). Roles are user/model, system messages go to
// systemInstruction, tools are functionDeclarations, and structured output is responseMimeType
// application/json with responseSchema (the OpenAPI subset of JSON Schema Gemini accepts).

import type { LMMessage, LMOutput, LMRequest, LMStreamChunk, LMUsage, ToolCall } from '../../primitives/lm.js';
import { LMBadResponse, LMHttpError } from '../errors.js';
import type { SseEvent } from '../sse.js';
import { geminiPart } from './content_parts.js';
import { Shape, isJsonMode, streamEventJson, NO_USAGE, passthrough, usageOf, type BuildInput, type ParsedResponse, type Provider, type StreamDecoder, type WireRequest } from './types.js';
import { versionedBase } from './api_base.js';
import { noteResponseBody } from '../../tracing/lm_span.js';

/** The version segment of the endpoints (see api_base.ts). */
const API_VERSION = 'v1beta';

const NAME = 'gemini';
/** JSON Schema keywords Gemini's responseSchema rejects. */
const UNSUPPORTED = new Set(['additionalProperties', '$schema', '$id', '$defs', 'definitions', '$ref', 'default', 'examples', 'const', 'title', 'strict']);

/** Strips keywords Gemini rejects, at every depth. */
export function geminiSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(geminiSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (UNSUPPORTED.has(k)) continue;
    out[k] = k === 'properties' && v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, geminiSchema(s)])) : geminiSchema(v);
  }
  return out;
}

function contents(messages: readonly LMMessage[]): unknown[] {
  const names = new Map<string, string>();
  const out: unknown[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    if (m.role === 'tool') {
      const name = names.get(m.toolCallId ?? '') ?? m.toolCallId ?? 'tool';
      out.push({ role: 'user', parts: [{ functionResponse: { name, response: { content: m.content } } }] });
      continue;
    }
    const parts: unknown[] = m.contentParts !== undefined ? m.contentParts.map(geminiPart) : m.content === '' ? [] : [{ text: m.content }];
    for (const call of m.toolCalls ?? []) {
      names.set(call.id, call.name);
      parts.push({ functionCall: { name: call.name, args: call.args } });
    }
    out.push({ role: m.role === 'assistant' ? 'model' : 'user', parts: parts.length > 0 ? parts : [{ text: '' }] });
  }
  return out;
}

function build({ model, request, settings, apiBase, apiKey, stream }: BuildInput): WireRequest {
  const generationConfig: Record<string, unknown> = { ...passthrough(settings) };
  // JSON mode (config.response_format json_object) is Gemini's responseMimeType without a schema.
  if (isJsonMode(generationConfig.response_format)) {
    delete generationConfig.response_format;
    generationConfig.responseMimeType = 'application/json';
  }
  if (settings.temperature !== undefined) generationConfig.temperature = settings.temperature;
  if (settings.max_tokens !== undefined) generationConfig.maxOutputTokens = settings.max_tokens;
  if (settings.top_p !== undefined) generationConfig.topP = settings.top_p;
  if (settings.n !== undefined && settings.n !== 1) generationConfig.candidateCount = settings.n;
  if (settings.stop !== undefined && settings.stop.length > 0) generationConfig.stopSequences = settings.stop;
  if (request.responseFormat !== undefined) {
    generationConfig.responseMimeType = 'application/json';
    generationConfig.responseSchema = geminiSchema(request.responseFormat.schema);
  }
  const body: Record<string, unknown> = { contents: contents(request.messages) };
  const system = request.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
  if (system !== '') body.systemInstruction = { parts: [{ text: system }] };
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig;
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = [{ functionDeclarations: request.tools.map((t) => ({ name: t.name, description: t.description, parameters: geminiSchema(t.parameters) })) }];
  }
  // The key goes in a header, never in the URL, so it cannot leak through a logged URL.
  const headers: Record<string, string> = apiKey === undefined ? {} : { 'x-goog-api-key': apiKey };
  const method = stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
  return { url: `${versionedBase(apiBase, API_VERSION)}/models/${encodeURIComponent(model)}:${method}`, headers, body };
}

interface Candidate {
  index: number;
  text: string;
  calls: ToolCall[];
  finishReason: string | undefined;
}

function candidates(shape: Shape, root: Record<string, unknown>, requireCandidates: boolean): Candidate[] {
  if (root.candidates === undefined && !requireCandidates) return [];
  if (root.candidates === undefined && root.promptFeedback !== undefined) shape.fail(`the prompt was blocked: ${JSON.stringify(root.promptFeedback)}`);
  return shape.array(root.candidates, 'candidates').map((raw, i) => {
    const candidate = shape.object(raw, `candidates[${i}]`);
    const content = shape.object(candidate.content ?? { parts: [] }, `candidates[${i}].content`);
    let text = '';
    const calls: ToolCall[] = [];
    for (const [j, rawPart] of shape.array(content.parts ?? [], `candidates[${i}].content.parts`).entries()) {
      const part = shape.object(rawPart, `parts[${j}]`);
      if (typeof part.text === 'string' && part.thought !== true) text += part.text;
      if (part.functionCall !== undefined) {
        const call = shape.object(part.functionCall, `parts[${j}].functionCall`);
        if (typeof call.name !== 'string') shape.fail(`parts[${j}].functionCall.name is not a string`);
        calls.push({ id: typeof call.id === 'string' ? call.id : `call_${j}`, name: call.name, args: shape.object(call.args ?? {}, 'functionCall.args') });
      }
    }
    const index = typeof candidate.index === 'number' ? candidate.index : i;
    return { index, text, calls, finishReason: typeof candidate.finishReason === 'string' ? candidate.finishReason : undefined };
  });
}

/**
 * usageMetadata as LiteLLM reports it to DSPy: the completion tokens add a thinking model's thoughts
 * (billed as output; completionTokensDetails.reasoningTokens), and cached prompt tokens are
 * promptTokensDetails.cachedTokens.
 */
function usage(shape: Shape, root: Record<string, unknown>): ParsedResponse['usage'] | undefined {
  if (root.usageMetadata === undefined) return undefined;
  const u = shape.object(root.usageMetadata, 'usageMetadata');
  const prompt = shape.number(u.promptTokenCount);
  const candidates = shape.number(u.candidatesTokenCount);
  const total = shape.number(u.totalTokenCount);
  const thoughts = shape.number(u.thoughtsTokenCount);
  // Some responses count the thoughts inside candidatesTokenCount already (LiteLLM's is_candidate_token_count_inclusive).
  const inclusive = prompt + candidates + shape.number(u.toolUsePromptTokenCount) === total;
  const result = usageOf(prompt, inclusive ? candidates : candidates + thoughts, total || undefined);
  if (typeof u.cachedContentTokenCount === 'number') result.promptTokensDetails = { cachedTokens: shape.number(u.cachedContentTokenCount) };
  if (typeof u.thoughtsTokenCount === 'number') result.completionTokensDetails = { reasoningTokens: thoughts };
  return result;
}

function output(c: Candidate): LMOutput {
  return { text: c.text, ...(c.calls.length > 0 ? { toolCalls: c.calls } : {}), ...(c.finishReason === undefined ? {} : { finishReason: c.finishReason }) };
}

function parse(body: unknown): ParsedResponse {
  const shape: Shape = new Shape(NAME, body);
  const root = shape.object(body, 'the body');
  if (root.error !== undefined) shape.fail('the body is an error object');
  const list = candidates(shape, root, true).sort((a, b) => a.index - b.index);
  return { outputs: list.map(output), usage: usage(shape, root) ?? NO_USAGE };
}

function decoder(_request: LMRequest): StreamDecoder {
  const byIndex = new Map<number, Candidate>();
  let total: LMUsage = NO_USAGE;
  let finished = false;
  const meta: { id?: unknown; model?: unknown } = {};
  return {
    get finished() {
      return finished;
    },
    push(event: SseEvent): LMStreamChunk[] {
      const { shape, json } = streamEventJson(NAME, event);
      const root = shape.object(json, 'the stream chunk');
      if (root.error !== undefined) throw new LMHttpError(NAME, 500, JSON.stringify(root.error));
      total = usage(shape, root) ?? total;
      meta.id ??= root.responseId;
      meta.model ??= root.modelVersion;
      const chunks: LMStreamChunk[] = [];
      for (const c of candidates(shape, root, false)) {
        const acc = byIndex.get(c.index) ?? { index: c.index, text: '', calls: [], finishReason: undefined };
        acc.text += c.text;
        acc.calls.push(...c.calls);
        // A finish reason arrives in the last chunk, together with the usage: nothing follows it.
        if (c.finishReason !== undefined) {
          acc.finishReason = c.finishReason;
          finished = true;
        }
        byIndex.set(c.index, acc);
        if (c.text !== '') chunks.push({ delta: c.text, index: c.index, done: false });
      }
      return chunks;
    },
    result(): ParsedResponse {
      const list = [...byIndex.values()].sort((a, b) => a.index - b.index);
      const parsed = { outputs: list.length > 0 ? list.map(output) : [{ text: '' }], usage: total };
      noteResponseBody(parsed, meta);
      return parsed;
    },
  };
}

export const gemini: Provider = {
  name: NAME,
  defaultApiBase: 'https://generativelanguage.googleapis.com',
  apiVersion: API_VERSION,
  defaultKeyEnv: 'GEMINI_API_KEY',
  nativeN: true,
  build,
  parse,
  decoder,
};
