// Without an OpenTelemetry SDK the tracing hooks stay out of the way: no span or context is built, and an
// LM call carries no parent. (The CPU cost per evaluated example is measured by bench:evaluate.)

import { context, trace } from '@opentelemetry/api';
import { afterEach, expect, it } from 'vitest';
import { LM } from '../../src/clients/index.js';
import { tracingOn } from '../../src/tracing/instruments.js';
import { parentOfCall } from '../../src/tracing/parent.js';
import { ScriptedServer, openaiReply, quietRuntime, telemetryBus } from '../clients/helpers.js';

const rt = quietRuntime();
afterEach(() => rt.shutdown());

it('reports tracing off and sends no parent until an SDK registers a tracer provider', async () => {
  expect(tracingOn()).toBe(false);
  expect(parentOfCall()).toBeUndefined();
  const server = await ScriptedServer.start();
  server.script(openaiReply('Paris'));
  const lm = await LM.start(rt, { name: 'oa', model: 'openai/gpt-4o-mini', apiBase: `${server.url}/v1`, apiKey: 'k', cache: { memory: false }, retries: 0, telemetry: telemetryBus() });
  expect((await lm.call({ messages: [{ role: 'user', content: 'x' }] })).outputs[0]!.text).toBe('Paris');
  // The API's no-op tracer: a span started anyway records nothing, and the context stays the root one.
  expect(trace.getTracer('x').startSpan('s').isRecording()).toBe(false);
  expect(trace.getSpan(context.active())).toBeUndefined();
  await server.close();
});
