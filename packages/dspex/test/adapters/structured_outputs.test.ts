// What JSONAdapter (alone, or as ChatAdapter's fallback) puts in the request body, decided as DSPy 3.4.1's
// _prepare_response_format decides: from the capability the LM declares, else DSPy's answer for the model name
// (checked against real DSPy), or from the adapter option. Bodies are captured on a loopback OpenAI server.

import { execFile } from 'node:child_process';
import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatAdapter } from '../../src/adapters/chat_adapter.js';
import { AdapterConfigError } from '../../src/adapters/errors.js';
import { JSONAdapter, type StructuredOutputsOption } from '../../src/adapters/json_adapter.js';
import type { StructuredOutputs } from '../../src/primitives/lm.js';
import { LM, LMConfigError } from '../../src/clients/index.js';
import { defaultStructuredOutputs } from '../../src/adapters/structured_outputs.js';
import { ReAct } from '../../src/predict/react.js';
import { Signature } from '../../src/signatures/signature.js';
import { PYTHON, dspyUnavailable, servicesRequired } from '../support/dspy_reference.js';
import { ScriptedServer, openaiReply, quietRuntime } from '../clients/helpers.js';

let rt: Runtime;
let server: ScriptedServer;

beforeEach(async () => {
  rt = quietRuntime();
  server = await ScriptedServer.start();
});
afterEach(async () => {
  await rt.shutdown();
  await server.close();
});

const sig = Signature.parse('question -> answer, confidence: float');
const JSON_REPLY = '{"answer": "a", "confidence": 0.5}';

function start(model: string, structuredOutputs?: StructuredOutputs) {
  return LM.start(rt, { model, apiBase: `${server.url}/v1`, retries: 0, cache: { memory: false }, ...(structuredOutputs === undefined ? {} : { structuredOutputs }) });
}

/** The response_format ChatAdapter's JSON fallback sends (the first reply has no headers, so it falls back). */
async function fallbackFormat(model: string, declared?: StructuredOutputs, option?: StructuredOutputsOption): Promise<unknown> {
  server.script(openaiReply('no headers here'), openaiReply(JSON_REPLY));
  const lm = await start(model, declared);
  const adapter = new ChatAdapter(option === undefined ? {} : { structuredOutputs: option });
  expect(await adapter.call(lm, {}, sig, [], { question: 'q' })).toEqual([{ answer: 'a', confidence: 0.5 }]);
  expect(server.requests).toHaveLength(2);
  expect(server.requests[0]!.body.response_format).toBeUndefined();
  return server.requests[1]!.body.response_format;
}

const strictSchema = { type: 'json_schema', json_schema: { name: 'DSPyProgramOutputs', strict: true, schema: expect.objectContaining({ additionalProperties: false, required: ['answer', 'confidence'] }) } };

describe("ChatAdapter's JSON fallback sends what DSPy sends", () => {
  it('a self-hosted or custom model name: no response_format (DSPy: response_format not in supported_params)', async () => {
    expect(await fallbackFormat('openai/my-finetune')).toBeUndefined();
  });

  it('a model name DSPy knows: the strict schema (gpt-4o-mini), JSON mode (gpt-3.5-turbo)', async () => {
    expect(await fallbackFormat('openai/gpt-4o-mini')).toEqual(strictSchema);
    server.requests.length = 0;
    expect(await fallbackFormat('openai/gpt-3.5-turbo')).toEqual({ type: 'json_object' });
  });

  it('a declared capability wins over the name: json_schema, json_object', async () => {
    expect(await fallbackFormat('openai/my-finetune', 'json_schema')).toEqual(strictSchema);
    server.requests.length = 0;
    expect(await fallbackFormat('openai/gpt-4o-mini', 'json_object')).toEqual({ type: 'json_object' });
  });

  it("the adapter option reaches the fallback and wins over the LM's capability", async () => {
    expect(await fallbackFormat('openai/my-finetune', 'none', 'json_schema')).toEqual(strictSchema);
    server.requests.length = 0;
    expect(await fallbackFormat('openai/gpt-4o-mini', undefined, 'none')).toBeUndefined();
  });
});

describe('JSONAdapter request bodies', () => {
  it('an open mapping: JSON mode for json_schema (as DSPy), a non-strict schema for grammar', async () => {
    const counts = Signature.parse('text -> counts: dict[str, int]');
    server.script(openaiReply('{"counts": {"a": 1}}'), openaiReply('{"counts": {"a": 1}}'));
    await new JSONAdapter().call(await start('openai/gpt-4o'), {}, counts, [], { text: 'a' });
    expect(server.requests[0]!.body.response_format).toEqual({ type: 'json_object' });
    await new JSONAdapter({ structuredOutputs: 'grammar' }).call(await start('openai/other'), {}, counts, [], { text: 'a' });
    expect(server.requests[1]!.body.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { name: 'DSPyProgramOutputs', strict: false, schema: { properties: { counts: { type: 'object', additionalProperties: { type: 'integer' } } }, required: ['counts'] } },
    });
  });

  it("ReAct's tool-call fields on a grammar LM: the tool name is an enum of the tools and finish, the args an object", async () => {
    const react = new ReAct('question -> answer', [function add({ a, b }: { a: number; b: number }) { return a + b; }]);
    server.script(openaiReply('{"next_thought": "t", "next_tool_name": "finish", "next_tool_args": {}}'));
    const lm = await start('local/smollm2-135m-instruct', 'grammar');
    const messages = new JSONAdapter().format(react.react.signature, [], { question: 'q', trajectory: '' });
    await new JSONAdapter().call(lm, {}, react.react.signature, [], { question: 'q', trajectory: '' });
    const body = server.requests[0]!.body;
    // The prompt is the one DSPy renders; the constraint is only in the response format.
    expect(body.messages).toEqual(messages.map((m) => ({ role: m.role, content: m.content })));
    const format = body.response_format as { json_schema: { strict: boolean; schema: { properties: Record<string, unknown>; required: string[] } } };
    expect(format.json_schema.strict).toBe(false);
    expect(format.json_schema.schema.properties.next_tool_name).toMatchObject({ type: 'string', enum: ['add', 'finish'] });
    expect(format.json_schema.schema.properties.next_tool_args).toMatchObject({ type: 'object', additionalProperties: true });
    expect(format.json_schema.schema.required).toEqual(['next_thought', 'next_tool_name', 'next_tool_args']);
  });

  it('a capability or option outside the four values is refused with the accepted ones', () => {
    expect(() => new JSONAdapter({ structuredOutputs: 'off' as never })).toThrow(AdapterConfigError);
    expect(() => new ChatAdapter({ structuredOutputs: 'strict' as never })).toThrow(/'auto', 'grammar', 'json_schema', 'json_object' or 'none'/);
    return expect(LM.start(rt, { model: 'openai/x', apiBase: server.url, structuredOutputs: 'yes' as never })).rejects.toBeInstanceOf(LMConfigError);
  });
});

// DSPy's own answer for each name: supports_response_schema -> json_schema; else response_format in
// supported_params -> json_object; else none.
const NAMES = [
  'openai/gpt-4o', 'openai/gpt-4o-mini-2024-07-18', 'openai/gpt-4o-2024-05-13', 'openai/chatgpt-4o-latest', 'openai/gpt-4.1-nano',
  'openai/gpt-5-mini', 'openai/o1', 'openai/o1-mini', 'openai/o3-mini', 'openai/o4-mini', 'openai/gpt-4.5-preview', 'openai/gpt-3.5-turbo',
  'openai/gpt-4-turbo', 'openai/gpt-4-0613', 'openai/my-finetune', 'gpt-4o-mini',
  'anthropic/claude-sonnet-4-5-20250929', 'anthropic/claude-opus-4-1', 'anthropic/claude-sonnet-4-0', 'anthropic/claude-haiku-4-5',
  'anthropic/claude-3-7-sonnet-latest', 'anthropic/claude-3-5-haiku-latest',
  'gemini/gemini-2.5-flash', 'gemini/gemini-2.5-pro', 'gemini/gemini-3-pro-preview', 'gemini/gemini-2.0-flash', 'gemini/gemini-1.5-pro', 'gemini/my-gem',
];
const DSPY_CAPABILITIES = `
import json, logging, sys
logging.disable(logging.CRITICAL)
import dspy
out = {}
for name in json.loads(sys.argv[1]):
    lm = dspy.LM(name, api_key="x")
    out[name] = "json_schema" if lm.supports_response_schema else "json_object" if "response_format" in lm.supported_params else "none"
print(json.dumps(out))
`;

const unavailable = dspyUnavailable();
describe.skipIf(unavailable !== null && !servicesRequired())('the default table against real DSPy 3.4.1', () => {
  it('gives DSPy’s answer for every listed name', { timeout: 120_000 }, async () => {
    if (unavailable !== null) throw new Error(unavailable);
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(PYTHON, ['-c', DSPY_CAPABILITIES, JSON.stringify(NAMES)], { env: { ...process.env, PYTHONIOENCODING: 'utf-8' } }, (error, out, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(out))),
    );
    const dspy = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, StructuredOutputs>;
    expect(Object.fromEntries(NAMES.map((name) => [name, defaultStructuredOutputs(name)]))).toEqual(dspy);
  });
});
