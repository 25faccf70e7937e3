// API keys never reach a log line or an error: the client sends its key, the server echoes it back in error
// bodies, and neither the captured pino output nor the errors (message, stack, body, cause, inspect)
// contain it.

import { inspect } from 'node:util';
import { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, LMAuthError, Redactor } from '../../src/clients/index.js';
import { ScriptedServer, captureLogger } from './helpers.js';

const KEY = 'sk-proj-SECRETsecret0123456789SECRET';
let server: ScriptedServer;

beforeEach(async () => {
  server = await ScriptedServer.start();
  process.env.DSPEX_TEST_SECRET = KEY;
});
afterEach(async () => {
  await server.close();
  delete process.env.DSPEX_TEST_SECRET;
});

function everything(error: unknown): string {
  return [String(error), (error as Error).stack, JSON.stringify(error), inspect(error, { depth: 10 }), String((error as Error).cause)].join('\n');
}

describe('API keys stay secret', () => {
  it('are redacted from retry logs and from the final error even when the provider echoes them', async () => {
    const { logger, lines } = captureLogger();
    const rt = new Runtime({ logger });
    server.script(
      (res, req) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`upstream failed for ${String(req.headers.authorization)}`),
      { status: 200, text: `not json, but your key is ${KEY}` },
      { status: 401, json: { error: { message: `Incorrect API key provided: ${KEY}. You can find your API key at ...` } } },
    );
    const lm = await LM.start(rt, { name: 'secret', model: 'openai/m', apiBase: server.url, apiKeyEnv: 'DSPEX_TEST_SECRET', retries: { max: 2, baseDelayMs: 1 }, cache: { memory: false } });

    const first = await lm.call({ messages: [{ role: 'user', content: 'a' }] }).catch((e: unknown) => e);
    expect(first).toMatchObject({ code: 'DSPEX_LM_BAD_RESPONSE' });
    const second = await lm.call({ messages: [{ role: 'user', content: 'b' }] }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(LMAuthError);

    // The key was really sent (so there was something to leak) ...
    expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
    // ... the logs say what happened ...
    const log = lines.join('');
    expect(log).toContain('retrying after');
    expect(log).toContain('[REDACTED]');
    // ... and nothing carries the key.
    expect(log).not.toContain(KEY);
    for (const error of [first, second]) {
      expect(everything(error)).not.toContain(KEY);
      expect(everything(error)).toContain('[REDACTED]');
    }
    await rt.shutdown();
  });

  it('the Redactor removes configured secrets and credential-shaped strings', () => {
    const redactor = new Redactor(['my-own-secret-value']);
    expect(redactor.text('a my-own-secret-value b')).toBe('a [REDACTED] b');
    expect(redactor.text('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [REDACTED]');
    expect(redactor.text('key=AIzaSyA0123456789abcdefghijklmnopq&x=1')).toBe('key=[REDACTED]&x=1');
    expect(redactor.text('"x-api-key": "sk-ant-api03-zzzzzzzzzzzzzzzz"')).toBe('"x-api-key": "[REDACTED]"');
  });
});
