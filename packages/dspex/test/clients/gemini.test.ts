// The Gemini generateContent client against a loopback server speaking its wire format: roles and
// systemInstruction, the key in a header (never the URL), responseSchema, function calls, candidates, SSE.

import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, LMBadResponse, LMRateLimited, type LMHandle, type LMStreamChunk } from '../../src/clients/index.js';
import { ScriptedServer, quietRuntime, sse, sseBytes } from './helpers.js';

let rt: Runtime;
let server: ScriptedServer;
let lm: LMHandle;
const KEY = 'AIzaTestKey0123456789abcdefghijklmno';

const reply = (parts: unknown[][], usage = { promptTokenCount: 6, candidatesTokenCount: 4, totalTokenCount: 10 }) => ({
  json: { candidates: parts.map((p, index) => ({ index, content: { role: 'model', parts: p }, finishReason: 'STOP' })), usageMetadata: usage },
});

beforeEach(async () => {
  rt = quietRuntime();
  server = await ScriptedServer.start();
  process.env.DSPEX_TEST_GEMINI_KEY = KEY;
  lm = await LM.start(rt, { name: 'gem', model: 'gemini/gemini-2.0-flash', apiBase: server.url, apiKeyEnv: 'DSPEX_TEST_GEMINI_KEY', retries: 0, cache: { memory: false } });
});
afterEach(async () => {
  await rt.shutdown();
  await server.close();
  delete process.env.DSPEX_TEST_GEMINI_KEY;
});

describe('Gemini generateContent', () => {
  it('sends contents with user/model roles, systemInstruction and generationConfig; the key only in x-goog-api-key', async () => {
    server.script(reply([[{ text: 'Paris' }]]));
    const response = await lm.call({
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Capital?' }, { role: 'assistant', content: 'Of?' }, { role: 'user', content: 'France' }],
      config: { temperature: 0.2, max_tokens: 30, top_p: 0.9, stop: ['\n'] },
    });
    expect(response).toMatchObject({ outputs: [{ text: 'Paris', finishReason: 'STOP' }], usage: { promptTokens: 6, completionTokens: 4, totalTokens: 10 } });
    const req = server.requests[0]!;
    expect(req.url).toBe('/v1beta/models/gemini-2.0-flash:generateContent');
    expect(req.url).not.toContain(KEY);
    expect(req.headers['x-goog-api-key']).toBe(KEY);
    expect(req.body).toEqual({
      contents: [
        { role: 'user', parts: [{ text: 'Capital?' }] },
        { role: 'model', parts: [{ text: 'Of?' }] },
        { role: 'user', parts: [{ text: 'France' }] },
      ],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { temperature: 0.2, maxOutputTokens: 30, topP: 0.9, stopSequences: ['\n'] },
    });
  });

  it('structured output: responseMimeType JSON and a responseSchema without the keywords Gemini rejects', async () => {
    server.script(reply([[{ text: '{"city":"Paris"}' }]]));
    await lm.call({
      messages: [{ role: 'user', content: 'x' }],
      responseFormat: { name: 'a', schema: { $schema: 'x', type: 'object', additionalProperties: false, properties: { city: { type: 'string', default: 'x' } }, required: ['city'] } },
    });
    expect(server.requests[0]!.body.generationConfig).toEqual({ responseMimeType: 'application/json', responseSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } });
  });

  it('function declarations out, function calls in, function responses named after their call', async () => {
    server.script(reply([[{ functionCall: { name: 'search', args: { query: 'otp' } } }]]));
    const response = await lm.call({
      messages: [
        { role: 'user', content: 'find' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'c0', name: 'lookup', args: { id: 1 } }] },
        { role: 'tool', content: 'found', toolCallId: 'c0' },
      ],
      tools: [{ name: 'search', description: 'Search', parameters: { type: 'object', properties: { query: { type: 'string' } } } }],
    });
    expect(response.outputs[0]!.toolCalls).toEqual([{ id: 'call_0', name: 'search', args: { query: 'otp' } }]);
    const body = server.requests[0]!.body;
    expect(body.tools).toEqual([{ functionDeclarations: [{ name: 'search', description: 'Search', parameters: { type: 'object', properties: { query: { type: 'string' } } } }] }]);
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'find' }] },
      { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { id: 1 } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { content: 'found' } } }] },
    ]);
  });

  it('n is candidateCount, and candidates come back in order', async () => {
    server.script(reply([[{ text: 'a' }], [{ text: 'b' }]]));
    const response = await lm.call({ messages: [{ role: 'user', content: 'x' }], config: { n: 2 } });
    expect(response.outputs.map((o) => o.text)).toEqual(['a', 'b']);
    expect(server.requests[0]!.body.generationConfig).toEqual({ candidateCount: 2 });
  });

  it('streams with streamGenerateContent?alt=sse', async () => {
    server.script(
      sseBytes([
        sse({ candidates: [{ index: 0, content: { role: 'model', parts: [{ text: 'Bon' }] } }] }),
        sse({ candidates: [{ index: 0, content: { role: 'model', parts: [{ text: 'jour ☃' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 2, candidatesTokenCount: 3, totalTokenCount: 5 } }),
      ]),
    );
    const chunks: LMStreamChunk[] = [];
    for await (const c of lm.stream({ messages: [{ role: 'user', content: 'hi' }] })) chunks.push(c);
    expect(server.requests[0]!.url).toBe('/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse');
    expect(chunks.filter((c) => !c.done).map((c) => c.delta)).toEqual(['Bon', 'jour ☃']);
    expect(chunks.at(-1)!.response).toMatchObject({ outputs: [{ text: 'Bonjour ☃', finishReason: 'STOP' }], usage: { totalTokens: 5 } });
  });

  it('a blocked prompt is LMBadResponse saying so; 429 is LMRateLimited', async () => {
    server.script({ json: { promptFeedback: { blockReason: 'SAFETY' } } }, { status: 429, json: { error: { code: 429, status: 'RESOURCE_EXHAUSTED' } } });
    const blocked = await lm.call({ messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(LMBadResponse);
    expect((blocked as Error).message).toContain('blocked');
    await expect(lm.call({ messages: [{ role: 'user', content: 'y' }] })).rejects.toBeInstanceOf(LMRateLimited);
  });
});
