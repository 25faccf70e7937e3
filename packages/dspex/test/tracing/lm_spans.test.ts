// GenAI spans and metrics of LM calls against loopback OpenAI, Anthropic and Gemini servers: the span name,
// kind and attributes the OpenTelemetry GenAI conventions ask for, error.type on failure, message content
// only when the user opts in, and the two gen_ai.client histograms.

import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { Runtime } from '@dspex/runtime';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LM, type LMStartOptions } from '../../src/clients/index.js';
import { configureTracing } from '../../src/tracing/index.js';
import { Predict } from '../../src/predict/predict.js';
import type { ServerResponse } from 'node:http';
import { ScriptedServer, openaiReply, quietRuntime, sse, telemetryBus } from '../clients/helpers.js';
import { parentId, startSdk, type TestSdk } from './otel_sdk.js';

let sdk: TestSdk;
let rt: Runtime;
let server: ScriptedServer;

beforeAll(() => {
  sdk = startSdk();
});
afterAll(() => sdk.shutdown());
beforeEach(async () => {
  sdk.exporter.reset();
  configureTracing({ captureMessageContent: false });
  rt = quietRuntime();
  server = await ScriptedServer.start();
});
afterEach(async () => {
  await rt.shutdown();
  await server.close();
});

function start(model: string, extra: Partial<LMStartOptions> = {}) {
  return LM.start(rt, { name: model.split('/')[0]!, model, apiBase: server.url, apiKey: 'test-key', cache: { memory: false }, retries: 0, telemetry: telemetryBus(), ...extra });
}

const question = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Capital of France?' }];

describe('LM call spans (GenAI conventions)', () => {
  it('OpenAI: chat {model}, CLIENT, the schema URL, request settings, response id/model/finish reasons, usage, server', async () => {
    server.script({ json: { id: 'chatcmpl-42', model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, message: { role: 'assistant', content: 'Paris' }, finish_reason: 'stop' }], usage: { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 } } });
    const lm = await start('openai/gpt-4o-mini', { apiBase: `${server.url}/v1` });
    await lm.call({ messages: question, config: { temperature: 0.3, max_tokens: 20 } });
    const span = sdk.span('chat gpt-4o-mini');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.instrumentationScope.schemaUrl).toBe('https://opentelemetry.io/schemas/1.37.0'); // the conventions' version, as on the metrics
    expect(span.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.temperature': 0.3,
      'gen_ai.request.max_tokens': 20,
      'gen_ai.response.id': 'chatcmpl-42',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 11,
      'gen_ai.usage.output_tokens': 2,
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(server.url).port),
    });
    expect(span.attributes['gen_ai.input.messages']).toBeUndefined();
    expect(span.attributes['gen_ai.output.messages']).toBeUndefined();
    expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('Anthropic: provider anthropic, its id, model and stop reason', async () => {
    server.script({ json: { id: 'msg_01', type: 'message', role: 'assistant', model: 'claude-3-5-haiku-20241022', content: [{ type: 'text', text: 'Paris.' }], stop_reason: 'end_turn', usage: { input_tokens: 9, output_tokens: 3 } } });
    const lm = await start('anthropic/claude-3-5-haiku-latest');
    await lm.call({ messages: question });
    const span = sdk.span('chat claude-3-5-haiku-latest');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.attributes).toMatchObject({
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.response.id': 'msg_01',
      'gen_ai.response.model': 'claude-3-5-haiku-20241022',
      'gen_ai.response.finish_reasons': ['end_turn'],
      'gen_ai.usage.input_tokens': 9,
      'gen_ai.usage.output_tokens': 3,
    });
  });

  it('Gemini: provider gcp.gemini, responseId and modelVersion', async () => {
    server.script({ json: { candidates: [{ content: { role: 'model', parts: [{ text: 'Paris' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 7, candidatesTokenCount: 1, totalTokenCount: 8 }, modelVersion: 'gemini-2.0-flash-001', responseId: 'resp-7' } });
    const lm = await start('gemini/gemini-2.0-flash');
    await lm.call({ messages: question });
    const span = sdk.span('chat gemini-2.0-flash');
    expect(span.attributes).toMatchObject({
      'gen_ai.provider.name': 'gcp.gemini',
      'gen_ai.response.id': 'resp-7',
      'gen_ai.response.model': 'gemini-2.0-flash-001',
      'gen_ai.usage.input_tokens': 7,
      'gen_ai.usage.output_tokens': 1,
    });
    expect(span.attributes['gen_ai.response.finish_reasons']).toHaveLength(1);
  });

  it('a failed call: error.type is the error code, status ERROR, the exception recorded', async () => {
    server.script({ status: 400, json: { error: { message: 'bad request' } } });
    const lm = await start('openai/gpt-4o-mini', { apiBase: `${server.url}/v1` });
    const failure = (await lm.call({ messages: question }).catch((e: unknown) => e)) as { code: string };
    const span = sdk.span('chat gpt-4o-mini');
    expect(span.attributes['error.type']).toBe(failure.code);
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.events.map((e) => e.name)).toContain('exception');
  });

  it('records message content only when the user opts in', async () => {
    server.script(openaiReply('Paris'), openaiReply('Paris'));
    const lm = await start('openai/gpt-4o-mini', { apiBase: `${server.url}/v1` });
    await lm.call({ messages: question });
    expect(sdk.spans()[0]!.attributes['gen_ai.input.messages']).toBeUndefined();
    configureTracing({ captureMessageContent: true });
    await lm.call({ messages: question });
    const span = sdk.spans()[1]!;
    expect(JSON.parse(span.attributes['gen_ai.system_instructions'] as string)).toEqual([{ type: 'text', content: 'Be brief.' }]);
    expect(JSON.parse(span.attributes['gen_ai.input.messages'] as string)).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'Capital of France?' }] }]);
    expect(JSON.parse(span.attributes['gen_ai.output.messages'] as string)).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'Paris' }], finish_reason: 'stop' }]);
  });

  it('a call made under a span is its child, though the client answers from its own process', async () => {
    server.script(openaiReply('Paris'));
    const lm = await start('openai/gpt-4o-mini', { apiBase: `${server.url}/v1` });
    const outer = trace.getTracer('test').startSpan('request');
    // The caller's context (AsyncLocalStorage, as NodeSDK registers) travels with the call to the client process.
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      await context.with(trace.setSpan(context.active(), outer), () => lm.call({ messages: question }));
    } finally {
      manager.disable();
      context.disable();
    }
    outer.end();
    const span = sdk.span('chat gpt-4o-mini');
    expect(span.spanContext().traceId).toBe(outer.spanContext().traceId);
    expect(parentId(span)).toBe(outer.spanContext().spanId);
  });

  it('without a context manager, a module span still parents the LM call its forward makes', async () => {
    server.script(openaiReply('[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]'));
    const predict = new Predict('question -> answer');
    predict.lm = await start('openai/gpt-4o-mini', { apiBase: `${server.url}/v1` });
    await predict.call({ question: 'Capital of France?' });
    expect(parentId(sdk.span('chat gpt-4o-mini'))).toBe(sdk.span('dspex.module Predict').spanContext().spanId);
  });

  it('a memory-cache hit gets a span too; it counts no tokens', async () => {
    server.script(openaiReply('Paris'));
    const lm = await start('openai/gpt-4o-mini', { apiBase: `${server.url}/v1`, cache: { memory: true } });
    await lm.call({ messages: question });
    await lm.call({ messages: question });
    const [first, second] = sdk.spans();
    expect(first!.attributes['dspex.lm.cached']).toBeUndefined();
    expect(second!.attributes['dspex.lm.cached']).toBe(true);
    const tokens = await sdk.metric('gen_ai.client.token.usage');
    const input = tokens!.dataPoints.find((p) => p.attributes['gen_ai.token.type'] === 'input' && p.attributes['server.port'] === Number(new URL(server.url).port));
    expect(input!.value.count).toBe(1);
  });
});

describe('streamed LM calls', () => {
  const streamOf = (events: string[]) => (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(events.join(''));
  };
  const CASES = [
    {
      model: 'openai/gpt-4o-mini',
      provider: 'openai',
      reply: streamOf([
        sse({ id: 'chatcmpl-9', model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta: { content: 'Paris' }, finish_reason: null }] }),
        sse({ id: 'chatcmpl-9', model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
        sse({ id: 'chatcmpl-9', model: 'gpt-4o-mini-2024-07-18', choices: [], usage: { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10 } }),
        sse('[DONE]'),
      ]),
      id: 'chatcmpl-9',
      responseModel: 'gpt-4o-mini-2024-07-18',
      reason: 'stop',
    },
    {
      model: 'anthropic/claude-3-5-haiku-latest',
      provider: 'anthropic',
      reply: streamOf([
        sse({ type: 'message_start', message: { id: 'msg_9', model: 'claude-3-5-haiku-20241022', usage: { input_tokens: 9, output_tokens: 1 } } }, 'message_start'),
        sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Paris' } }, 'content_block_delta'),
        sse({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 1 } }, 'message_delta'),
        sse({ type: 'message_stop' }, 'message_stop'),
      ]),
      id: 'msg_9',
      responseModel: 'claude-3-5-haiku-20241022',
      reason: 'end_turn',
    },
    {
      model: 'gemini/gemini-2.0-flash',
      provider: 'gcp.gemini',
      reply: streamOf([sse({ candidates: [{ index: 0, content: { role: 'model', parts: [{ text: 'Paris' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 1, totalTokenCount: 10 }, modelVersion: 'gemini-2.0-flash-001', responseId: 'resp-9' })]),
      id: 'resp-9',
      responseModel: 'gemini-2.0-flash-001',
      reason: 'STOP',
    },
  ];
  for (const { model, provider, reply, id, responseModel, reason } of CASES) {
    it(`${provider}: a streamed call's span has the response id, model, finish reason and usage`, async () => {
      server.script(reply);
      const lm = await start(model);
      for await (const chunk of lm.stream({ messages: question })) void chunk;
      const span = sdk.span(`chat ${model.split('/')[1]}`);
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.attributes).toMatchObject({
        'gen_ai.provider.name': provider,
        'gen_ai.response.id': id,
        'gen_ai.response.model': responseModel,
        'gen_ai.response.finish_reasons': [reason],
        'gen_ai.usage.input_tokens': 9,
        'gen_ai.usage.output_tokens': 1,
      });
      const duration = (await sdk.metric('gen_ai.client.operation.duration'))!;
      const point = duration.dataPoints.find((p) => p.attributes['server.port'] === Number(new URL(server.url).port));
      expect(point!.attributes['gen_ai.response.model']).toBe(responseModel);
    });
  }
});

describe('GenAI client metrics', () => {
  it('gen_ai.client.operation.duration (s) and gen_ai.client.token.usage ({token}) by token type', async () => {
    server.script(openaiReply('Paris', { prompt_tokens: 40, completion_tokens: 5, total_tokens: 45 }), { status: 400, json: { error: { message: 'no' } } });
    const lm = await start('openai/gpt-4o-mini', { apiBase: `${server.url}/v1` });
    await lm.call({ messages: question });
    await lm.call({ messages: question }).catch(() => undefined);
    const port = Number(new URL(server.url).port);
    const duration = (await sdk.metric('gen_ai.client.operation.duration'))!;
    expect(duration.descriptor.unit).toBe('s');
    const mine = duration.dataPoints.filter((p) => p.attributes['server.port'] === port);
    expect(mine.map((p) => p.attributes['error.type'] ?? 'ok').sort()).toEqual(['DSPEX_LM_HTTP', 'ok'].sort());
    expect(mine[0]!.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini' });
    expect(mine[0]!.value.buckets.boundaries).toEqual([0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]);
    const tokens = (await sdk.metric('gen_ai.client.token.usage'))!;
    expect(tokens.descriptor.unit).toBe('{token}');
    const byType = Object.fromEntries(tokens.dataPoints.filter((p) => p.attributes['server.port'] === port).map((p) => [p.attributes['gen_ai.token.type'], p.value.sum]));
    expect(byType).toEqual({ input: 40, output: 5 });
  });
});
