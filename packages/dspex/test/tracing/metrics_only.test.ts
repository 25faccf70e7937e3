// An application that registers only a meter provider (Prometheus, say, with no tracing) still gets the GenAI
// client metrics of every LM call, and no span is built.

import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { afterAll, expect, it } from 'vitest';
import { LM } from '../../src/clients/index.js';
import { tracingOn } from '../../src/tracing/instruments.js';
import { ScriptedServer, openaiReply, quietRuntime, telemetryBus } from '../clients/helpers.js';

class ManualReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const rt = quietRuntime();
const reader = new ManualReader();
const meterProvider = new MeterProvider({ readers: [reader] });
afterAll(async () => {
  await rt.shutdown();
  await meterProvider.shutdown();
  metrics.disable();
});

it('records gen_ai.client.operation.duration and gen_ai.client.token.usage with a meter provider alone', async () => {
  metrics.setGlobalMeterProvider(meterProvider);
  expect(tracingOn()).toBe(false);
  const server = await ScriptedServer.start();
  try {
    server.script(openaiReply('Paris', { prompt_tokens: 40, completion_tokens: 5, total_tokens: 45 }));
    const lm = await LM.start(rt, { name: 'oa', model: 'openai/gpt-4o-mini', apiBase: `${server.url}/v1`, apiKey: 'k', cache: { memory: false }, retries: 0, telemetry: telemetryBus() });
    await lm.call({ messages: [{ role: 'user', content: 'Capital of France?' }] });
    const { resourceMetrics } = await reader.collect();
    const byName = new Map(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m as HistogramMetricData]));
    const duration = byName.get('gen_ai.client.operation.duration');
    expect(duration?.dataPoints).toHaveLength(1);
    expect(duration!.dataPoints[0]!.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini' });
    const tokens = byName.get('gen_ai.client.token.usage');
    expect(Object.fromEntries(tokens!.dataPoints.map((p) => [p.attributes['gen_ai.token.type'], p.value.sum]))).toEqual({ input: 40, output: 5 });
    // No tracer provider: nothing to record spans with.
    expect(trace.getTracer('x').startSpan('s').isRecording()).toBe(false);
  } finally {
    await server.close();
  }
});
