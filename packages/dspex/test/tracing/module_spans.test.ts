// Spans of DSPex's own operations around the LM calls: a module call parents the LM calls of its forward
// (explicitly in its synchronous part, across awaits with a context manager), a ReAct tool call is an
// execute_tool span, and an evaluation run parents its examples' module calls.

import type { Runtime } from '@dspex/runtime';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LM, type LMHandle } from '../../src/clients/index.js';
import { evaluate } from '../../src/evaluate/evaluate.js';
import { Module } from '../../src/program/module.js';
import { Prediction } from '../../src/primitives/prediction.js';
import { Predict } from '../../src/predict/predict.js';
import { ReAct } from '../../src/predict/react.js';
import { Tool } from '../../src/predict/tool.js';
import { ScriptedServer, openaiReply, quietRuntime, telemetryBus } from '../clients/helpers.js';
import { exactMatch, mathDevset } from '../evaluate_helpers.js';
import { parentId, startSdk, type TestSdk } from './otel_sdk.js';

let sdk: TestSdk;
let rt: Runtime;
let server: ScriptedServer;
let lm: LMHandle;

beforeAll(() => {
  // NodeSDK's default context manager: spans nest across the awaits of a forward.
  sdk = startSdk({ asyncContext: true });
});
afterAll(() => sdk.shutdown());
beforeEach(async () => {
  sdk.exporter.reset();
  rt = quietRuntime();
  server = await ScriptedServer.start();
  lm = await LM.start(rt, { name: 'oa', model: 'openai/gpt-4o-mini', apiBase: `${server.url}/v1`, apiKey: 'k', cache: { memory: false }, retries: 0, telemetry: telemetryBus() });
});
afterEach(async () => {
  await rt.shutdown();
  await server.close();
});

const answerText = (text: string): string => `[[ ## answer ## ]]\n${text}\n\n[[ ## completed ## ]]`;
const answer = (text: string) => openaiReply(answerText(text));

class TwoHops extends Module {
  first = new Predict('question -> answer');
  second = new Predict('question -> answer');
  override async forward(inputs: Record<string, unknown>): Promise<Prediction> {
    const a = await this.first.call({ question: String(inputs.question) });
    return this.second.call({ question: `${String(a.get('answer'))}?` });
  }
}

describe('module spans', () => {
  it('a program span parents its predictors, each parenting its LM call', async () => {
    server.script(answer('Paris'), answer('France'));
    const program = new TwoHops();
    program.setLm(lm);
    await program.call({ question: 'Capital?' });
    const root = sdk.span('dspex.module TwoHops');
    expect(root.kind).toBe(SpanKind.INTERNAL);
    const predicts = sdk.spans().filter((s) => s.name === 'dspex.module Predict');
    expect(predicts.map(parentId)).toEqual([root.spanContext().spanId, root.spanContext().spanId]);
    const chats = sdk.spans().filter((s) => s.name === 'chat gpt-4o-mini');
    expect(chats.map(parentId).sort()).toEqual(predicts.map((p) => p.spanContext().spanId).sort());
    expect(new Set(sdk.spans().map((s) => s.spanContext().traceId)).size).toBe(1);
  });

  it('a failing module call ends its span with ERROR and error.type', async () => {
    server.script({ status: 400, json: { error: { message: 'no' } } });
    const predict = new Predict('question -> answer');
    predict.lm = lm;
    await expect(predict.call({ question: 'x' })).rejects.toThrow();
    const span = sdk.span('dspex.module Predict');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['error.type']).toBe('DSPEX_LM_HTTP');
  });

  it('a ReAct tool call is an execute_tool span by the GenAI conventions', async () => {
    server.script(
      openaiReply('[[ ## next_thought ## ]]\nLook it up.\n\n[[ ## next_tool_name ## ]]\nsearch\n\n[[ ## next_tool_args ## ]]\n{"query": "capital of France"}\n\n[[ ## completed ## ]]'),
      openaiReply('[[ ## next_thought ## ]]\nDone.\n\n[[ ## next_tool_name ## ]]\nfinish\n\n[[ ## next_tool_args ## ]]\n{}\n\n[[ ## completed ## ]]'),
      openaiReply('[[ ## reasoning ## ]]\nFound it.\n\n[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]'),
    );
    const search = new Tool((args: { query: string }) => `results for ${args.query}: Paris`, { name: 'search', desc: 'Searches the web.' });
    const agent = new ReAct('question -> answer', [search]);
    agent.setLm(lm);
    const prediction = await agent.call({ question: 'Capital of France?' });
    expect(prediction.get('answer')).toBe('Paris');
    const tool = sdk.span('execute_tool search');
    expect(tool.kind).toBe(SpanKind.INTERNAL);
    expect(tool.attributes).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search', 'gen_ai.tool.type': 'function', 'gen_ai.tool.description': 'Searches the web.' });
    expect(parentId(tool)).toBe(sdk.span('dspex.module ReAct').spanContext().spanId);
  });
});

describe('evaluation spans', () => {
  it('an evaluation run is a span with the devset size and score, parenting the examples', async () => {
    server.fallback = (res, req) => {
      const question = String((req.body.messages as Array<{ content: string }>).at(-1)!.content);
      const n = Number(/What is (\d+) \+ 1/.exec(question)![1]);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', choices: [{ index: 0, message: { role: 'assistant', content: answerText(String(n + 1)) }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
    };
    const program = new Predict('question -> answer');
    program.lm = lm;
    const result = await evaluate(program, mathDevset(3), exactMatch, { runtime: rt, concurrency: 2 });
    expect(result.score).toBe(100);
    const run = sdk.span('dspex.evaluate Predict');
    expect(run.attributes).toMatchObject({ 'dspex.evaluate.examples': 3, 'dspex.evaluate.score': 100 });
    const examples = sdk.spans().filter((s) => s.name === 'dspex.module Predict');
    expect(examples).toHaveLength(3);
    for (const example of examples) expect(example.spanContext().traceId).toBe(run.spanContext().traceId);
  });
});
