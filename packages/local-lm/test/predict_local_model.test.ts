// Predict, ChainOfThought and ReAct against the embedded SmolLM2-135M model (LocalLM), through JSONAdapter's
// JSON-schema path so decoding is grammar-constrained. The model is tiny: these tests check the pipeline (a
// prediction with the signature's fields, or a typed AdapterParseError), not the quality of its answers.

import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Runtime } from '@dspex/runtime';
import { AdapterParseError, ChainOfThought, JSONAdapter, LM as LMClient, Predict, Prediction, ReAct, Tool, withSettings, type LM, type LMHandle, type LMRequest, type Module } from 'dspex';
import { LocalLM, type LocalLMStarted } from '../src/index.js';
import { localModelMissing } from './local_model.js';
import { servicesRequired } from '../../dspex/test/support/dspy_reference.js';

const missing = localModelMissing();
const skip = missing !== null && !servicesRequired();
if (skip) console.warn(`skipping the embedded-model tests: ${missing}`);

// CPU decoding of a few hundred prompt tokens on a small shared machine takes tens of seconds per call.
const CALL_CONFIG = { temperature: 0, max_tokens: 96 };

let runtime: Runtime;
let local: LocalLMStarted | undefined;
let handle: LMHandle | undefined;
const requests: LMRequest[] = [];
/** The local LM, recording each request so a test can check that the schema path was taken. */
let lm: LM;

beforeAll(async () => {
  if (skip) return;
  if (missing !== null) throw new Error(`The embedded model is required here (CI or DSPEX_REQUIRE_SERVICES is set): ${missing}`);
  runtime = new Runtime({ logger: pino({ level: 'silent' }) });
  local = await LocalLM.start(runtime, { gpu: false, contextSize: 4096, sequences: 1 });
  const client = await LMClient.start(runtime, LocalLM.clientOptions());
  handle = client;
  lm = { model: client.model, structuredOutputs: client.structuredOutputs, defaults: client.defaults, call: (request) => (requests.push(request), client.call(request)) };
}, 180_000);

afterAll(async () => {
  await handle?.stop();
  await local?.stop();
  await runtime?.shutdown();
}, 60_000);

/** Runs the module under JSONAdapter; resolves to its Prediction or to the AdapterParseError it rejected with. */
async function outcome(module: Module, inputs: Record<string, unknown>, maxIters?: number): Promise<Prediction | AdapterParseError> {
  requests.length = 0;
  try {
    return await withSettings({ adapter: new JSONAdapter() }, () => module.call(inputs, { lm, config: CALL_CONFIG, ...(maxIters === undefined ? {} : { maxIters }) }));
  } catch (error) {
    if (error instanceof AdapterParseError) return error;
    throw error;
  }
}

function expectFields(result: Prediction | AdapterParseError, fields: string[]): void {
  if (result instanceof AdapterParseError) {
    expect(result.code).toBe('DSPEX_ADAPTER_PARSE');
    expect(result.adapterName).toBe('JSONAdapter');
    return;
  }
  expect(result).toBeInstanceOf(Prediction);
  expect(result.keys()).toEqual(fields);
}

describe.skipIf(skip)('native modules on the embedded SmolLM2 model', { timeout: 600_000 }, () => {
  test('Predict: a typed prediction through the JSON-schema grammar', async () => {
    const result = await outcome(new Predict('question -> answer'), { question: 'What is the capital of France?' });
    expectFields(result, ['answer']);
    if (result instanceof Prediction) expect(typeof result.answer).toBe('string');
    expect(requests[0]!.responseFormat?.schema).toMatchObject({ type: 'object', required: ['answer'] });
    expect(requests[0]!.messages[0]!.role).toBe('system');
  });

  test('ChainOfThought: reasoning and answer', async () => {
    const result = await outcome(new ChainOfThought('question -> answer'), { question: 'Is ice cold? Answer yes or no.' });
    expectFields(result, ['reasoning', 'answer']);
    expect(requests[0]!.responseFormat?.schema).toMatchObject({ required: ['reasoning', 'answer'] });
  });

  test('ReAct: the grammar keeps the tool-call fields parseable, so the run calls a tool and finishes', async () => {
    const add = new Tool(({ a, b }: { a: number; b: number }) => a + b, { name: 'add', desc: 'Add two integers.', args: { a: { type: 'integer' }, b: { type: 'integer' } } });
    requests.length = 0;
    // No AdapterParseError is accepted here: dict[str, Any] no longer drops the schema on a grammar LM.
    const result = await withSettings({ adapter: new JSONAdapter() }, () =>
      new ReAct('question -> answer', [add]).call({ question: 'What is 2 + 3?' }, { lm, config: { temperature: 0, max_tokens: 256 }, maxIters: 2 }),
    );
    expect(result.keys()).toEqual(['trajectory', 'reasoning', 'answer']);
    const trajectory = result.get<Record<string, unknown>>('trajectory');
    expect(['add', 'finish']).toContain(trajectory['tool_name_0']);
    expect(trajectory['tool_args_0']).toBeTypeOf('object');
    expect(trajectory).toHaveProperty('observation_0');
    expect(typeof result.answer).toBe('string');
    const schema = requests[0]!.responseFormat!.schema as { properties: Record<string, { enum?: unknown[]; type?: string }> };
    expect(schema.properties['next_tool_name']!.enum).toEqual(['add', 'finish']);
    expect(schema.properties['next_tool_args']!.type).toBe('object');
  });
});
