// OpenTelemetry through the bridge: a call is a `dspex.python {command}` CLIENT span whose trace context goes
// to the worker in the call frame; DSPy's LM calls made there come back as GenAI `chat {model}` children of
// it. The last test exports those spans over OTLP/HTTP to a receiver on loopback.

import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { useBridge } from './helpers.js';

const bridge = useBridge();
let provider: BasicTracerProvider | undefined;

afterEach(async () => {
  await provider?.shutdown();
  provider = undefined;
  trace.disable();
});

function register(...processors: ConstructorParameters<typeof BasicTracerProvider>[0] extends infer O ? (O extends { spanProcessors?: infer P } ? P : never) : never): void {
  provider = new BasicTracerProvider({ spanProcessors: processors });
  trace.setGlobalTracerProvider(provider);
}

async function dspyPredict(name: string): Promise<unknown> {
  const pool = await bridge.pool({ name, size: 1 });
  const session = pool.session('traced');
  await session.call('configure_lm', { dummy: [{ answer: 'blue' }] });
  const predict = await session.call<{ handle: string }>('create', { class: 'dspy.Predict', args: ['question -> answer'] });
  return session.call('call', { handle: predict.handle, kwargs: { question: 'What colour is the sky?' } });
}

describe('bridge call spans', () => {
  it("a call's span parents the DSPy LM calls its worker made", async () => {
    const exporter = new InMemorySpanExporter();
    register(new SimpleSpanProcessor(exporter));
    expect(await dspyPredict('traced')).toEqual({ answer: 'blue' });
    const spans = exporter.getFinishedSpans();
    const call = spans.filter((s) => s.name === 'dspex.python call');
    expect(call).toHaveLength(1);
    expect(call[0]!.kind).toBe(SpanKind.CLIENT);
    expect(call[0]!.attributes).toMatchObject({ 'dspex.python.command': 'call', 'dspex.python.session': 'traced' });
    const lm = spans.find((s) => s.name === 'chat dummy');
    expect(lm, `spans: ${spans.map((s) => s.name).join(', ')}`).toBeDefined();
    expect(lm!.kind).toBe(SpanKind.CLIENT);
    expect(lm!.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'dummy' });
    expect(lm!.spanContext().traceId).toBe(call[0]!.spanContext().traceId);
    expect(lm!.parentSpanContext?.spanId).toBe(call[0]!.spanContext().spanId);
    // The LM call happened inside the bridge call.
    const ms = (s: ReadableSpan, end = false): number => (end ? s.endTime : s.startTime)[0] * 1000 + (end ? s.endTime : s.startTime)[1] / 1e6;
    expect(ms(lm!)).toBeGreaterThanOrEqual(ms(call[0]!) - 5);
    expect(ms(lm!, true)).toBeLessThanOrEqual(ms(call[0]!, true) + 5);
  });

  it("a stream's span lasts until its result and parents the DSPy LM calls made while it streams", async () => {
    const exporter = new InMemorySpanExporter();
    register(new SimpleSpanProcessor(exporter));
    const pool = await bridge.pool({ name: 'traced-stream', size: 1 });
    const session = pool.session('streamed');
    await session.call('configure_lm', { dummy: [{ answer: 'blue' }] });
    const predict = await session.call<{ handle: string }>('create', { class: 'dspy.Predict', args: ['question -> answer'] });
    const stream = session.stream<{ type: string; delta?: string }>('call_stream', { handle: predict.handle, kwargs: { question: 'What colour is the sky?' } });
    const chunks: string[] = [];
    for await (const chunk of stream) if (chunk.type === 'field') chunks.push(chunk.delta ?? '');
    expect(chunks.join('')).toBe('blue');
    expect(await stream.result).toEqual({ answer: 'blue' });
    const spans = exporter.getFinishedSpans();
    const call = spans.find((s) => s.name === 'dspex.python call_stream');
    expect(call, `spans: ${spans.map((s) => s.name).join(', ')}`).toBeDefined();
    expect(call!.kind).toBe(SpanKind.CLIENT);
    expect(call!.attributes).toMatchObject({ 'dspex.python.command': 'call_stream', 'dspex.python.session': 'streamed' });
    const lm = spans.find((s) => s.name === 'chat dummy');
    expect(lm, `spans: ${spans.map((s) => s.name).join(', ')}`).toBeDefined();
    expect(lm!.spanContext().traceId).toBe(call!.spanContext().traceId);
    expect(lm!.parentSpanContext?.spanId).toBe(call!.spanContext().spanId);
  });

  it('a failed call ends its span with error.type', async () => {
    const exporter = new InMemorySpanExporter();
    register(new SimpleSpanProcessor(exporter));
    const pool = await bridge.pool({ name: 'failing', size: 1 });
    await expect(pool.call('no_such_command')).rejects.toThrow();
    const span = exporter.getFinishedSpans().find((s) => s.name === 'dspex.python no_such_command')!;
    expect(typeof span.attributes['error.type']).toBe('string');
  });

  it('exports the spans over OTLP/HTTP to a collector on loopback', async () => {
    const bodies: Array<{ contentType: string | undefined; body: Buffer }> = [];
    const receiver = createServer((request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        bodies.push({ contentType: request.headers['content-type'], body: Buffer.concat(chunks) });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        receiver.emit('received');
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;
      register(new SimpleSpanProcessor(new OTLPTraceExporter({ url })));
      const received = once(receiver, 'received');
      await dspyPredict('exported');
      await provider!.forceFlush();
      await received;
      const names = bodies.flatMap(({ body }) => {
        const json = JSON.parse(body.toString('utf8')) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string; traceId: string }> }> }> };
        return json.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((span) => span.name)));
      });
      expect(bodies[0]!.contentType).toBe('application/json');
      expect(names).toContain('chat dummy');
      expect(names).toContain('dspex.python call');
    } finally {
      receiver.closeAllConnections();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});
