// A key echoed back in any escaping is still the key: JSON's `\/` and `\uXXXX` (either case, any character,
// any mix, doubled backslashes of a JSON string inside a JSON string) and URL percent-encoding are redacted
// like the plain key, for every provider, in every place a key could surface: error message, stack, body,
// cause, inspect and JSON of the error, telemetry events and log lines; a cut through the key leaves nothing.

import { inspect } from 'node:util';
import fc from 'fast-check';
import { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, Redactor } from '../../src/clients/index.js';
import type { LMTelemetryEvents } from '../../src/clients/telemetry.js';
import { ScriptedServer, captureLogger, telemetryBus } from './helpers.js';

const KEY = 'sk-proj-SECRET/secret+0123456789/SECRET_tail';
const ENV = 'DSPEX_TEST_ESCAPED_SECRET';

const hex = (char: string): string => char.charCodeAt(0).toString(16).padStart(4, '0');
/** The ways JSON (and a URL) may write one character of the key. */
const FORMS: Record<string, (char: string) => string> = {
  plain: (c) => c,
  lower: (c) => `\\u${hex(c)}`,
  upper: (c) => `\\u${hex(c).toUpperCase()}`,
  solidus: (c) => (c === '/' ? '\\/' : c),
  nested: (c) => `\\\\u${hex(c)}`, // a JSON string inside a JSON string
  percent: (c) => (/[A-Za-z0-9]/.test(c) ? c : `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`),
};
const escapeWith = (form: (char: string) => string): string => [...KEY].map(form).join('');

/** Undoes every escaping above, as many times as it was applied, so that a surviving key shows up plainly. */
function decodeAll(text: string): string {
  let out = text;
  for (let i = 0; i < 3; i++) {
    out = out.replace(/\\+u([0-9a-fA-F]{4})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))).replace(/\\+\//g, '/');
    out = out.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
  return out;
}

describe('the Redactor', () => {
  it('redacts the key written with any mix of escapes, in any surrounding text', () => {
    const forms = Object.values(FORMS);
    fc.assert(
      fc.property(fc.array(fc.nat(forms.length - 1), { minLength: KEY.length, maxLength: KEY.length }), fc.string(), fc.string(), (choice, before, after) => {
        const escaped = [...KEY].map((c, i) => forms[choice[i]!]!(c)).join('');
        const redacted = new Redactor([KEY]).text(`${before}|${escaped}|${after}`);
        expect(redacted).toContain('|[REDACTED]|');
        expect(decodeAll(redacted)).not.toContain(KEY);
      }),
      { numRuns: 300, verbose: 1 },
    );
  });

  it('leaves text without the key alone, escapes and all', () => {
    const text = 'path C:\\\\dir \\u002f 100% sk-proj (not a key) \\/';
    expect(new Redactor([KEY]).text(text)).toBe(text);
  });
});

const PROVIDERS = [
  { model: 'openai/m', path: '/chat/completions' },
  { model: 'anthropic/claude', path: '/messages' },
  { model: 'gemini/gemini-pro', path: ':generateContent' },
] as const;

let server: ScriptedServer;
beforeEach(async () => {
  server = await ScriptedServer.start();
  process.env[ENV] = KEY;
});
afterEach(async () => {
  await server.close();
  delete process.env[ENV];
});

/** Every event the client emits, as one string. */
function recordTelemetry(bus: ReturnType<typeof telemetryBus>): string[] {
  const seen: string[] = [];
  for (const name of ['lm_error', 'lm_retry', 'lm_request', 'lm_response', 'lm_breaker'] as (keyof LMTelemetryEvents)[]) {
    bus.on(name, ((event: unknown) => seen.push(`${name} ${JSON.stringify(event)}`)) as never);
  }
  return seen;
}

function everything(error: unknown): string {
  return [String(error), (error as Error).stack, JSON.stringify(error), inspect(error, { depth: 10 }), String((error as Error).cause)].join('\n');
}

describe.each(PROVIDERS)('a $model client', ({ model }) => {
  it.each(Object.keys(FORMS))('redacts a key echoed with %s escapes from errors, telemetry and logs', async (form) => {
    const escaped = escapeWith(FORMS[form]!);
    // Raw text, so the escapes reach the client exactly as written: a retried 500, then a final 400.
    const body = `{"error":{"message":"Incorrect API key provided: ${escaped}. Check it."}}`;
    server.script({ status: 500, text: body }, { status: 400, text: body });
    const { logger, lines } = captureLogger();
    const rt = new Runtime({ logger });
    const telemetry = telemetryBus();
    const events = recordTelemetry(telemetry);
    const lm = await LM.start(rt, { name: `esc-${form}`, model, apiBase: server.url, apiKeyEnv: ENV, retries: { max: 1, baseDelayMs: 1 }, cache: { memory: false }, telemetry });

    const error = await lm.call({ messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    await rt.shutdown();

    expect(error).toMatchObject({ code: 'DSPEX_LM_HTTP', status: 400 });
    expect(server.requests).toHaveLength(2); // the key went out on each, so there was something to leak
    const places = { error: everything(error), telemetry: events.join('\n'), logs: lines.join('') };
    for (const [place, text] of Object.entries(places)) {
      expect(decodeAll(text), `the key in the ${place}`).not.toContain(KEY);
    }
    expect(places.error).toContain('[REDACTED]');
    expect(places.telemetry).toContain('[REDACTED]');
    expect(places.logs).toContain('[REDACTED]');
  });
});

describe('a cut through the key', () => {
  it('leaves no part of it in a message that quotes the start of an error body', async () => {
    // An error event in a stream: the provider's parser throws LMHttpError with the error as its body, and the
    // key straddles the 300th character, where the message cuts the body.
    const event = JSON.stringify({ error: { message: `${'x'.repeat(270)} ${KEY} rest` } });
    server.script({ headers: { 'content-type': 'text/event-stream' }, text: `data: ${event}\n\n` });
    const rt = new Runtime({ logger: captureLogger().logger });
    const lm = await LM.start(rt, { name: 'cut', model: 'openai/m', apiBase: server.url, apiKeyEnv: ENV, retries: 0, cache: { memory: false } });
    const error = await (async () => {
      for await (const chunk of lm.stream({ messages: [{ role: 'user', content: 'hi' }] })) void chunk;
    })().catch((e: unknown) => e);
    await rt.shutdown();
    expect(error).toMatchObject({ code: 'DSPEX_LM_HTTP', status: 500 });
    // Not even the part of it before the cut.
    expect(decodeAll(everything(error))).not.toContain(KEY.slice(0, 17));
    expect((error as Error).message).toContain('[REDACTED]');
  });

  it('leaves no part of it in the body of a malformed response', async () => {
    // No choices: LMBadResponse carries the body; the key straddles its 500th character, where it was once cut.
    server.script({ json: { id: 'x', note: `${'y'.repeat(470)}${KEY}` } });
    const rt = new Runtime({ logger: captureLogger().logger });
    const lm = await LM.start(rt, { name: 'cut-body', model: 'openai/m', apiBase: server.url, apiKeyEnv: ENV, retries: 0, cache: { memory: false } });
    const error = await lm.call({ messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    await rt.shutdown();
    expect(error).toMatchObject({ code: 'DSPEX_LM_BAD_RESPONSE' });
    expect(decodeAll(everything(error))).not.toContain(KEY.slice(0, 17));
    expect((error as { body: string }).body).toContain('[REDACTED]');
  });
});
