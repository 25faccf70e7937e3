// The Anthropic Messages client against a loopback server speaking its wire format: headers and body,
// tool use, structured output through a forced tool, n as sequential requests, streaming events, errors.

import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, LMAuthError, LMBadResponse, type LMHandle, type LMStreamChunk } from '../../src/clients/index.js';
import { ScriptedServer, quietRuntime, sse, sseBytes } from './helpers.js';

let rt: Runtime;
let server: ScriptedServer;
let lm: LMHandle;

const message = (content: unknown[], stop = 'end_turn') => ({ json: { id: 'msg_1', type: 'message', role: 'assistant', content, stop_reason: stop, usage: { input_tokens: 12, output_tokens: 5 } } });

beforeEach(async () => {
  rt = quietRuntime();
  server = await ScriptedServer.start();
  process.env.DSPEX_TEST_ANTHROPIC_KEY = 'sk-ant-test-0123456789abcdef';
  lm = await LM.start(rt, { name: 'claude', model: 'anthropic/claude-3-5-haiku-latest', apiBase: server.url, apiKeyEnv: 'DSPEX_TEST_ANTHROPIC_KEY', retries: { max: 1, baseDelayMs: 1 }, cache: { memory: false } });
});
afterEach(async () => {
  await rt.shutdown();
  await server.close();
  delete process.env.DSPEX_TEST_ANTHROPIC_KEY;
});

describe('Anthropic Messages', () => {
  it('sends system apart, the key in x-api-key with the API version, and reads text and usage', async () => {
    server.script(message([{ type: 'text', text: 'Paris.' }]));
    const response = await lm.call({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Capital of France?' }], config: { temperature: 0, stop: ['END'] } });
    expect(response).toMatchObject({ outputs: [{ text: 'Paris.', finishReason: 'end_turn' }], usage: { promptTokens: 12, completionTokens: 5, totalTokens: 17 } });
    const req = server.requests[0]!;
    expect(req.url).toBe('/v1/messages');
    expect(req.headers['x-api-key']).toBe('sk-ant-test-0123456789abcdef');
    expect(req.headers['anthropic-version']).toBe('2023-06-01');
    expect(req.body).toEqual({ model: 'claude-3-5-haiku-latest', system: 'Be brief.', messages: [{ role: 'user', content: 'Capital of France?' }], max_tokens: 4096, temperature: 0, stop_sequences: ['END'] });
  });

  it('maps tools, tool_use replies and tool results', async () => {
    server.script(message([{ type: 'text', text: 'Searching.' }, { type: 'tool_use', id: 'toolu_1', name: 'search', input: { query: 'otp' } }], 'tool_use'));
    const response = await lm.call({
      messages: [
        { role: 'user', content: 'find' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'toolu_0', name: 'search', args: { query: 'x' } }] },
        { role: 'tool', content: 'nothing', toolCallId: 'toolu_0' },
      ],
      tools: [{ name: 'search', description: 'Search', parameters: { type: 'object', properties: { query: { type: 'string' } } } }],
    });
    expect(response.outputs[0]).toEqual({ text: 'Searching.', toolCalls: [{ id: 'toolu_1', name: 'search', args: { query: 'otp' } }], finishReason: 'tool_use' });
    const body = server.requests[0]!.body;
    expect(body.tools).toEqual([{ name: 'search', description: 'Search', input_schema: { type: 'object', properties: { query: { type: 'string' } } } }]);
    expect(body.messages).toEqual([
      { role: 'user', content: 'find' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_0', name: 'search', input: { query: 'x' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_0', content: 'nothing' }] },
    ]);
  });

  it('structured output is a forced tool whose input becomes the JSON text', async () => {
    server.script(message([{ type: 'tool_use', id: 'toolu_1', name: 'answer', input: { city: 'Paris', population: 2 } }], 'tool_use'));
    const schema = { type: 'object', properties: { city: { type: 'string' }, population: { type: 'integer' } }, required: ['city'] };
    const response = await lm.call({ messages: [{ role: 'user', content: 'x' }], responseFormat: { name: 'answer', schema } });
    expect(JSON.parse(response.outputs[0]!.text)).toEqual({ city: 'Paris', population: 2 });
    expect(response.outputs[0]!.toolCalls).toBeUndefined();
    expect(server.requests[0]!.body).toMatchObject({ tools: [{ name: 'answer', input_schema: schema }], tool_choice: { type: 'tool', name: 'answer' } });
  });

  it('n > 1 is n requests, since the API has no n', async () => {
    server.script(message([{ type: 'text', text: 'one' }]), message([{ type: 'text', text: 'two' }]));
    const response = await lm.call({ messages: [{ role: 'user', content: 'x' }], config: { n: 2 } });
    expect(response.outputs.map((o) => o.text)).toEqual(['one', 'two']);
    expect(response.usage.totalTokens).toBe(34);
    expect(server.requests.map((r) => r.body.n)).toEqual([undefined, undefined]);
  });

  it('streams typed events: text deltas, usage from message_start and message_delta', async () => {
    server.script(
      sseBytes([
        sse({ type: 'message_start', message: { id: 'm', usage: { input_tokens: 9, output_tokens: 1 } } }, 'message_start'),
        sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
        sse({ type: 'ping' }, 'ping'),
        sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } }, 'content_block_delta'),
        sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo ☃' } }, 'content_block_delta'),
        sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
        sse({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_2', name: 'search', input: {} } }, 'content_block_start'),
        sse({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"query":' } }, 'content_block_delta'),
        sse({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"otp"}' } }, 'content_block_delta'),
        sse({ type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 7 } }, 'message_delta'),
        sse({ type: 'message_stop' }, 'message_stop'),
      ]),
    );
    const chunks: LMStreamChunk[] = [];
    for await (const c of lm.stream({ messages: [{ role: 'user', content: 'hi' }] })) chunks.push(c);
    expect(chunks.filter((c) => !c.done).map((c) => c.delta)).toEqual(['Hel', 'lo ☃']);
    expect(chunks.at(-1)!.response).toMatchObject({
      outputs: [{ text: 'Hello ☃', toolCalls: [{ id: 'toolu_2', name: 'search', args: { query: 'otp' } }], finishReason: 'tool_use' }],
      usage: { promptTokens: 9, completionTokens: 7, totalTokens: 16 },
    });
    expect(server.requests[0]!.body.stream).toBe(true);
  });

  it('529 overloaded is retried; 401 is LMAuthError; a missing content array is LMBadResponse', async () => {
    server.script({ status: 529, json: { type: 'error', error: { type: 'overloaded_error' } } }, message([{ type: 'text', text: 'ok' }]));
    await expect(lm.call({ messages: [{ role: 'user', content: 'a' }] })).resolves.toMatchObject({ outputs: [{ text: 'ok' }] });
    server.script({ status: 401, json: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } });
    await expect(lm.call({ messages: [{ role: 'user', content: 'b' }] })).rejects.toBeInstanceOf(LMAuthError);
    server.script({ json: { type: 'message', usage: {} } });
    await expect(lm.call({ messages: [{ role: 'user', content: 'c' }] })).rejects.toBeInstanceOf(LMBadResponse);
  });
});
