// The OpenAI-compatible client against a scripted loopback server: the wire body it sends, the response it
// reads (text, n choices, tool calls, structured output), and the typed errors for refused or malformed replies.

import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, LMAuthError, LMBadResponse, LMConfigError, LMContextWindowExceeded, LMHttpError, type LMHandle } from '../../src/clients/index.js';
import { isContextWindowExceeded } from '../../src/predict/react.js';
import { ScriptedServer, openaiReply, quietRuntime, telemetryBus } from './helpers.js';

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

function start(extra: Partial<Parameters<typeof LM.start>[1]> = {}): Promise<LMHandle> {
  return LM.start(rt, { name: 'oa', model: 'openai/gpt-4o-mini', apiBase: `${server.url}/v1`, cache: { memory: false }, retries: 0, telemetry: telemetryBus(), ...extra });
}

describe('OpenAI-compatible chat completions', () => {
  it('sends messages and merged settings, and reads text and usage', async () => {
    server.script(openaiReply('Paris', { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 }));
    const lm = await start({ defaults: { temperature: 0.3, max_tokens: 50 } });
    const response = await lm.call({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Capital of France?' }], config: { max_tokens: 20, seed: 7 } });
    expect(response).toEqual({ outputs: [{ text: 'Paris', finishReason: 'stop' }], usage: { promptTokens: 11, completionTokens: 2, totalTokens: 13 }, model: 'openai/gpt-4o-mini', cached: false });
    const sent = server.requests[0]!;
    expect(sent.url).toBe('/v1/chat/completions');
    expect(sent.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Capital of France?' }],
      temperature: 0.3,
      max_tokens: 20,
      seed: 7,
    });
    expect(lm.model).toBe('openai/gpt-4o-mini');
    expect(lm.defaults).toEqual({ temperature: 0.3, max_tokens: 50 });
  });

  it('returns n choices in order', async () => {
    server.script(openaiReply(['a', 'b', 'c']));
    const lm = await start();
    const response = await lm.call({ messages: [{ role: 'user', content: 'x' }], config: { n: 3 } });
    expect(response.outputs.map((o) => o.text)).toEqual(['a', 'b', 'c']);
    expect(server.requests[0]!.body.n).toBe(3);
  });

  it('sends tools and structured output, and parses tool calls', async () => {
    server.script({
      json: {
        choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'search', arguments: '{"query":"otp"}' } }] }, finish_reason: 'tool_calls' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      },
    });
    const lm = await start();
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    const response = await lm.call({
      messages: [
        { role: 'user', content: 'find otp' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'search', args: { query: 'erlang' } }] },
        { role: 'tool', content: 'no results', toolCallId: 'call_1' },
      ],
      tools: [{ name: 'search', description: 'Search the web', parameters: { type: 'object', properties: { query: { type: 'string' } } } }],
      responseFormat: { name: 'answer', schema },
    });
    expect(response.outputs[0]).toEqual({ text: '', toolCalls: [{ id: 'call_9', name: 'search', args: { query: 'otp' } }], finishReason: 'tool_calls' });
    const body = server.requests[0]!.body;
    expect(body.tools).toEqual([{ type: 'function', function: { name: 'search', description: 'Search the web', parameters: { type: 'object', properties: { query: { type: 'string' } } } } }]);
    expect(body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } });
    expect(body.messages).toEqual([
      { role: 'user', content: 'find otp' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'search', arguments: '{"query":"erlang"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'no results' },
    ]);
  });

  it('sends the key as a bearer token when one is configured, and none for a keyless local server', async () => {
    process.env.DSPEX_TEST_OA_KEY = 'sk-test-abcdefghijklmnop';
    server.script(openaiReply('one'), openaiReply('two'));
    const keyed = await start({ name: 'keyed', apiKeyEnv: 'DSPEX_TEST_OA_KEY' });
    await keyed.call({ messages: [{ role: 'user', content: 'x' }] });
    const keyless = await start({ name: 'keyless' });
    await keyless.call({ messages: [{ role: 'user', content: 'x' }] });
    expect(server.requests[0]!.headers.authorization).toBe('Bearer sk-test-abcdefghijklmnop');
    expect(server.requests[1]!.headers.authorization).toBeUndefined();
    delete process.env.DSPEX_TEST_OA_KEY;
  });

  it('a body that is not JSON is an LMBadResponse, and is not retried', async () => {
    server.script({ status: 200, text: '<html>gateway</html>' }, openaiReply('never'));
    const lm = await start({ retries: 3 });
    const error = await lm.call({ messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LMBadResponse);
    expect((error as LMBadResponse).code).toBe('DSPEX_LM_BAD_RESPONSE');
    expect((error as Error).message).toContain('<html>gateway</html>');
    expect(server.requests).toHaveLength(1);
  });

  it('JSON of the wrong shape is an LMBadResponse naming the field', async () => {
    server.script({ json: { choices: [{ index: 0, message: { content: 42 } }] } });
    const lm = await start();
    await expect(lm.call({ messages: [{ role: 'user', content: 'x' }] })).rejects.toThrow(/choices\[0\]\.message\.content is not a string/);
  });

  it('a 400 is an LMHttpError with the status and is not retried; a 401 is an LMAuthError', async () => {
    server.script({ status: 400, json: { error: { message: 'bad model' } } }, { status: 401, json: { error: { message: 'no' } } });
    const lm = await start({ retries: 3 });
    const bad = await lm.call({ messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(LMHttpError);
    expect((bad as LMHttpError).status).toBe(400);
    expect((bad as LMHttpError).message).toContain('bad model');
    const auth = await lm.call({ messages: [{ role: 'user', content: 'y' }] }).catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(LMAuthError);
    expect((auth as LMAuthError).code).toBe('DSPEX_LM_AUTH');
    expect(server.requests).toHaveLength(2);
  });

  it('a 400 saying the prompt is too long is LMContextWindowExceeded, which ReAct recognises; not retried', async () => {
    const overflow = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.";
    server.script({ status: 400, json: { error: { message: overflow, code: 'context_length_exceeded' } } });
    const lm = await start({ retries: 3 });
    const error = await lm.call({ messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LMContextWindowExceeded);
    expect((error as LMContextWindowExceeded).code).toBe('DSPEX_LM_CONTEXT_WINDOW_EXCEEDED');
    expect(isContextWindowExceeded(error)).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('refuses bad options before starting: a hosted provider without a key, an unknown provider without apiBase', async () => {
    const saved = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
    await expect(LM.start(rt, { model: 'openai/gpt-4o-mini' })).rejects.toThrow(/set OPENAI_API_KEY/);
    await expect(LM.start(rt, { model: 'ollama/llama3' })).rejects.toBeInstanceOf(LMConfigError);
    await expect(LM.start(rt, { model: 'openai/' })).rejects.toBeInstanceOf(LMConfigError);
    if (saved !== undefined) process.env.OPENAI_API_KEY = saved;
  });

  it('an unknown provider prefix with apiBase speaks the OpenAI wire (vLLM, Ollama, LM Studio)', async () => {
    server.script(openaiReply('hi'));
    const lm = await LM.start(rt, { name: 'vllm', model: 'vllm/meta-llama/Llama-3-8B', apiBase: `${server.url}/v1/`, retries: 0 });
    await lm.call({ messages: [{ role: 'user', content: 'x' }] });
    expect(server.requests[0]!.url).toBe('/v1/chat/completions');
    expect(server.requests[0]!.body.model).toBe('meta-llama/Llama-3-8B');
  });
});
