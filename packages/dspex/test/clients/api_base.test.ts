// apiBase and apiKey, as a service configures them: a base with or without its version segment, with or
// without a trailing slash, reaches the same path for every provider (no more `/v1/v1/messages`); a key is a
// value or a function asked before every attempt (rotation), and a rotated key is redacted like a fixed one.

import { Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LM } from '../../src/clients/lm.js';
import { LMAuthError, LMConfigError } from '../../src/clients/errors.js';
import { ScriptedServer, openaiReply, type Step } from './helpers.js';

const REPLIES: Record<string, Step> = {
  openai: openaiReply('ok'),
  anthropic: { json: { id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1 } } },
  gemini: { json: { candidates: [{ index: 0, content: { role: 'model', parts: [{ text: 'ok' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 } } },
};
const CASES = [
  { provider: 'openai', model: 'openai/gpt-4o-mini', version: '/v1', path: '/v1/chat/completions' },
  { provider: 'anthropic', model: 'anthropic/claude-3-5-haiku-latest', version: '/v1', path: '/v1/messages' },
  { provider: 'gemini', model: 'gemini/gemini-2.0-flash', version: '/v1beta', path: '/v1beta/models/gemini-2.0-flash:generateContent' },
] as const;

let rt: Runtime;
let server: ScriptedServer;
beforeAll(async () => {
  rt = new Runtime({ logger: pino({ level: 'silent' }) });
  server = await ScriptedServer.start();
});
afterAll(async () => {
  await rt.shutdown();
  await server.close();
});

async function pathOf(model: string, apiBase: string, reply: Step): Promise<string> {
  server.script(reply);
  const lm = await LM.start(rt, { name: `${model}@${apiBase}`, model, apiBase, apiKey: 'test-key-1234', retries: 0, cache: { memory: false } });
  try {
    const seen = new Promise<string>((resolve) => server.events.once('request', (r) => resolve(r.url)));
    await lm.call({ messages: [{ role: 'user', content: 'hi' }] });
    return await seen;
  } finally {
    await lm.stop();
  }
}

describe('apiBase', () => {
  // A base copied from LiteLLM-style settings ends in the endpoint itself: it is not added a second time.
  for (const { provider, model, path } of CASES) {
    it(`${provider}: base "<host>/gateway${path}" posts to /gateway${path}`, async () => {
      expect(await pathOf(model, `${server.url}/gateway${path}`, REPLIES[provider]!)).toBe(`/gateway${path}`);
    });
  }
  for (const { provider, model, version, path } of CASES) {
    for (const prefix of ['', '/gateway']) {
      for (const withVersion of [false, true]) {
        for (const slash of ['', '/']) {
          const base = `${prefix}${withVersion ? version : ''}${slash}`;
          it(`${provider}: base "<host>${base}" posts to ${prefix}${path}`, async () => {
            expect(await pathOf(model, `${server.url}${base}`, REPLIES[provider]!)).toBe(`${prefix}${path}`);
          });
        }
      }
    }
  }
});

describe('apiKey', () => {
  it('sends a key given as a value', async () => {
    server.script(openaiReply('ok'));
    const lm = await LM.start(rt, { name: 'key-value', model: 'openai/m', apiBase: server.url, apiKey: 'sk-value-1234', cache: { memory: false } });
    const seen = new Promise<string | undefined>((resolve) => server.events.once('request', (r) => resolve(r.headers.authorization)));
    await lm.call({ messages: [{ role: 'user', content: 'hi' }] });
    expect(await seen).toBe('Bearer sk-value-1234');
    await lm.stop();
  });

  it('asks a key function before every attempt, retries included, so a rotated key is used at once', async () => {
    let current = 'sk-first-1234';
    let asked = 0;
    const lm = await LM.start(rt, {
      name: 'key-rotating',
      model: 'anthropic/claude-3-5-haiku-latest',
      apiBase: server.url,
      apiKey: async () => (asked++, current),
      retries: { max: 1, baseDelayMs: 1 },
      cache: { memory: false },
    });
    const keys: unknown[] = [];
    const record = (r: { headers: Record<string, unknown> }): void => void keys.push(r.headers['x-api-key']);
    server.events.on('request', record);
    // The first attempt fails with a 503 and the key rotates before the retry.
    server.script((res) => {
      current = 'sk-second-5678';
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"type":"error","error":{"type":"overloaded_error"}}');
    }, REPLIES.anthropic!);
    await lm.call({ messages: [{ role: 'user', content: 'hi' }] });
    server.events.off('request', record);
    expect(keys).toEqual(['sk-first-1234', 'sk-second-5678']);
    expect(asked).toBe(2);
    await lm.stop();
  });

  it('redacts a key the function gave from errors, and refuses to send when the function fails', async () => {
    let fail = false;
    const lm = await LM.start(rt, {
      name: 'key-failing',
      model: 'openai/m',
      apiBase: server.url,
      apiKey: () => {
        if (fail) throw new Error('vault unreachable');
        return 'sk-rotated-abcdef123456';
      },
      retries: 0,
      cache: { memory: false },
    });
    server.script({ status: 401, json: { error: { message: 'bad key sk-rotated-abcdef123456' } } });
    const denied = await lm.call({ messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(LMAuthError);
    expect((denied as Error).message).not.toContain('sk-rotated-abcdef123456');

    fail = true;
    const before = server.requests.length;
    const error = await lm.call({ messages: [{ role: 'user', content: 'again' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LMAuthError);
    expect((error as Error).message).toMatch(/apiKey function failed \(vault unreachable\)/);
    expect(server.requests.length).toBe(before);
    await lm.stop();
  });

  it('refuses apiKey with apiKeyEnv, and an empty key', async () => {
    await expect(LM.start(rt, { model: 'openai/m', apiKey: 'sk-1234', apiKeyEnv: 'X' })).rejects.toThrow(LMConfigError);
    await expect(LM.start(rt, { model: 'openai/m', apiKey: ' ' })).rejects.toThrow(/non-empty string or a function/);
  });
});
