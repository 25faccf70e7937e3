// The span and metrics of one LM call, by the GenAI conventions: a CLIENT span `chat {model}` from the moment
// the client takes the call to its answer (retries included, as the conventions ask), with the request's
// settings, the response's id, model, finish reasons and usage, error.type on failure, and the content only
// when the user opted in. Every function here is a no-op when no SDK is registered (start returns undefined).

import { SpanKind, SpanStatusCode, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { LMConfig, LMMessage, LMRequest, LMResponse } from '../primitives/lm.js';
import { ATTR, OPERATION, PROVIDER_NAMES } from './conventions.js';
import { capturingContent, genAiInstruments, instrumented, metricsOn, tracer, tracingOn } from './instruments.js';

/** What an LM span needs of the client's configuration. */
export interface LMSpanTarget {
  /** Our provider name ("openai", "anthropic", "gemini"). */
  provider: { name: string };
  /** The model id sent on the wire. */
  wireModel: string;
  /** The API base when it is a fixed URL. */
  apiBase: unknown;
}

/** An LM call in flight: its span (when recording), when it started, and the attributes its metrics carry. */
export interface LMCallTrace {
  span: Span | undefined;
  started: number;
  metricAttributes: Attributes;
}

/** The response's id and model as the provider's body gave them (OpenAI/Anthropic id+model, Gemini responseId+modelVersion). */
interface ResponseMeta {
  id?: string;
  model?: string;
}

const metas = new WeakMap<object, ResponseMeta>();
const servers = new Map<string, Attributes>();

/** Keeps the id and model of a provider's raw body for the LM span and metrics, keyed by the parsed response (no-op untraced). */
export function noteResponseBody(parsed: object, body: unknown): void {
  if (body === null || typeof body !== 'object' || !instrumented()) return;
  const raw = body as Record<string, unknown>;
  const id = raw.id ?? raw.responseId;
  const model = raw.model ?? raw.modelVersion;
  metas.set(parsed, { ...(typeof id === 'string' ? { id } : {}), ...(typeof model === 'string' ? { model } : {}) });
}

/** Carries a part's response meta over to the response assembled from it. */
export function carryResponseMeta(from: object | undefined, to: object): void {
  const meta = from === undefined ? undefined : metas.get(from);
  if (meta !== undefined) metas.set(to, meta);
}

function serverOf(apiBase: unknown): Attributes {
  if (typeof apiBase !== 'string') return {};
  let found = servers.get(apiBase);
  if (found === undefined) {
    try {
      const url = new URL(apiBase);
      const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
      found = { [ATTR.serverAddress]: url.hostname, [ATTR.serverPort]: port };
    } catch {
      found = {};
    }
    if (servers.size < 64) servers.set(apiBase, found);
  }
  return found;
}

function requestAttributes(settings: LMConfig, request: LMRequest): Attributes {
  const attributes: Attributes = {};
  if (typeof settings.temperature === 'number') attributes[ATTR.requestTemperature] = settings.temperature;
  if (typeof settings.max_tokens === 'number') attributes[ATTR.requestMaxTokens] = settings.max_tokens;
  if (typeof settings.top_p === 'number') attributes[ATTR.requestTopP] = settings.top_p;
  if (typeof settings.seed === 'number') attributes[ATTR.requestSeed] = settings.seed;
  if (Array.isArray(settings.stop)) attributes[ATTR.requestStopSequences] = settings.stop.map(String);
  if (typeof settings.n === 'number' && settings.n !== 1) attributes[ATTR.requestChoiceCount] = settings.n;
  if (request.responseFormat !== undefined) attributes[ATTR.outputType] = 'json';
  return attributes;
}

/** The conventions' message shape: a role and typed parts (text, tool_call, tool_call_response). */
function partsOf(message: LMMessage): unknown[] {
  if (message.role === 'tool') return [{ type: 'tool_call_response', id: message.toolCallId, response: message.content }];
  const parts: unknown[] = message.content === '' ? [] : [{ type: 'text', content: message.content }];
  for (const call of message.toolCalls ?? []) parts.push({ type: 'tool_call', id: call.id, name: call.name, arguments: call.args });
  return parts;
}

function inputContent(messages: readonly LMMessage[]): Attributes {
  const system = messages.filter((m) => m.role === 'system').map((m) => ({ type: 'text', content: m.content }));
  const rest = messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role, parts: partsOf(m) }));
  return { ...(system.length > 0 ? { [ATTR.systemInstructions]: JSON.stringify(system) } : {}), [ATTR.inputMessages]: JSON.stringify(rest) };
}

function outputContent(response: LMResponse): Attributes {
  const messages = response.outputs.map((o) => ({ role: 'assistant', parts: partsOf({ role: 'assistant', content: o.text, ...(o.toolCalls === undefined ? {} : { toolCalls: o.toolCalls }) }), finish_reason: o.finishReason ?? 'stop' }));
  return { [ATTR.outputMessages]: JSON.stringify(messages) };
}

/**
 * Starts the span of an LM call under `parent` (the caller's context, carried with the call); undefined when
 * no SDK is registered, so the untraced path builds nothing. With a meter provider and no tracer provider the
 * call is timed for the metrics and has no span. `settings` are the wire settings of the call.
 */
export function startLMSpan(target: LMSpanTarget, request: LMRequest, settings: LMConfig, parent: Context | undefined): LMCallTrace | undefined {
  const spans = tracingOn();
  if (!spans && !metricsOn()) return undefined;
  const model = target.wireModel;
  const metricAttributes: Attributes = {
    [ATTR.operationName]: OPERATION.chat,
    [ATTR.providerName]: PROVIDER_NAMES[target.provider.name] ?? target.provider.name,
    [ATTR.requestModel]: model,
    ...serverOf(target.apiBase),
  };
  if (!spans) return { span: undefined, started: performance.now(), metricAttributes };
  const span = tracer().startSpan(`${OPERATION.chat} ${model}`, { kind: SpanKind.CLIENT, attributes: metricAttributes }, parent);
  if (!span.isRecording()) return { span: undefined, started: performance.now(), metricAttributes };
  span.setAttributes(requestAttributes(settings, request));
  if (capturingContent()) span.setAttributes(inputContent(request.messages));
  return { span, started: performance.now(), metricAttributes };
}

/** Ends an LM call's span with its response, and records its duration and token usage. */
export function endLMSpan(call: LMCallTrace | undefined, response: LMResponse): void {
  if (call === undefined) return;
  const meta = metas.get(response);
  const attributes: Attributes = { ...call.metricAttributes, ...(meta?.model === undefined ? {} : { [ATTR.responseModel]: meta.model }) };
  const { span } = call;
  if (span !== undefined) {
    const reasons = response.outputs.map((o) => o.finishReason).filter((r): r is string => r !== undefined);
    span.setAttributes({
      ...(meta?.id === undefined ? {} : { [ATTR.responseId]: meta.id }),
      ...(meta?.model === undefined ? {} : { [ATTR.responseModel]: meta.model }),
      ...(reasons.length > 0 ? { [ATTR.responseFinishReasons]: reasons } : {}),
      [ATTR.usageInputTokens]: response.usage.promptTokens,
      [ATTR.usageOutputTokens]: response.usage.completionTokens,
      ...(response.cached ? { 'dspex.lm.cached': true } : {}),
    });
    if (capturingContent()) span.setAttributes(outputContent(response));
    span.end();
  }
  const { duration, tokens } = genAiInstruments();
  duration.record((performance.now() - call.started) / 1000, attributes);
  // A cached answer made no request and used no tokens: only real usage is counted.
  if (!response.cached) {
    tokens.record(response.usage.promptTokens, { ...attributes, [ATTR.tokenType]: 'input' });
    tokens.record(response.usage.completionTokens, { ...attributes, [ATTR.tokenType]: 'output' });
  }
}

/** The error.type of a failure: the error's stable code when it has one (DSPEX_LM_TIMEOUT...), else its class name. */
export function errorType(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    return (error as object).constructor?.name ?? 'Error';
  }
  return '_OTHER';
}

/** Ends a span as failed: error.type, ERROR status with the message, and the exception event. */
export function failSpan(span: Span, error: unknown): void {
  span.setAttribute(ATTR.errorType, errorType(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  if (error instanceof Error) span.recordException(error);
  span.end();
}

/** Ends an LM call's span as failed, and records its duration with error.type. */
export function failLMSpan(call: LMCallTrace | undefined, error: unknown): void {
  if (call === undefined) return;
  if (call.span !== undefined) failSpan(call.span, error);
  genAiInstruments().duration.record((performance.now() - call.started) / 1000, { ...call.metricAttributes, [ATTR.errorType]: errorType(error) });
}
