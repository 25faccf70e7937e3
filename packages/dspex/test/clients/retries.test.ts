// Retries: 5xx and network errors are retried with backoff, 429 waits exactly the Retry-After (seconds or an
// HTTP date) on the client's clock, exhausted retries end in typed errors, and timeouts and aborts are typed.
// Time is the semantics here, so a manual clock drives it: no test sleeps.

import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, LMAborted, LMHttpError, LMNetworkError, LMRateLimited, LMTimeout, type LMStartOptions } from '../../src/clients/index.js';
import { ManualClock, ScriptedServer, openaiReply, quietRuntime, telemetryBus } from './helpers.js';

let rt: Runtime;
let server: ScriptedServer;
let clock: ManualClock;
const ask = { messages: [{ role: 'user' as const, content: 'x' }] };

beforeEach(async () => {
  rt = quietRuntime();
  server = await ScriptedServer.start();
  clock = new ManualClock();
});
afterEach(async () => {
  await rt.shutdown();
  await server.close();
});

function options(extra: Partial<LMStartOptions> = {}): LMStartOptions {
  return { name: 'r', model: 'openai/m', apiBase: server.url, cache: { memory: false }, clock, random: () => 0.5, telemetry: telemetryBus(), ...extra };
}

describe('retries', () => {
  it('retries 5xx with exponential backoff and jitter, then succeeds; usage counts the retries', async () => {
    server.script({ status: 500, text: 'down' }, { status: 503, text: 'down' }, openaiReply('ok'));
    const lm = await LM.start(rt, options({ retries: { max: 3, baseDelayMs: 100, maxDelayMs: 1000 } }));
    const call = lm.call(ask);
    // Equal jitter with random 0.5: step/2 + 0.5 * step/2 = 75 ms, then 150 ms.
    await clock.waitForTimer(75);
    expect(server.requests).toHaveLength(1);
    clock.advance(75);
    await clock.waitForTimer(150);
    expect(server.requests).toHaveLength(2);
    clock.advance(150);
    expect((await call).outputs[0]!.text).toBe('ok');
    expect(server.requests).toHaveLength(3);
    expect(await lm.usage()).toMatchObject({ calls: 1, requests: 3, retries: 2, failures: 2, promptTokens: 5, completionTokens: 3 });
  });

  it('429 with Retry-After in seconds waits exactly that long before the next request', async () => {
    server.script({ status: 429, headers: { 'retry-after': '2' }, json: { error: { message: 'slow down' } } }, openaiReply('ok'));
    const lm = await LM.start(rt, options({ retries: 3 }));
    const call = lm.call(ask);
    await clock.waitForTimer(2000);
    clock.advance(1999);
    expect(server.requests).toHaveLength(1);
    clock.advance(1);
    await expect(call).resolves.toMatchObject({ outputs: [{ text: 'ok' }] });
    expect(server.requests).toHaveLength(2);
  });

  it('429 with Retry-After as an HTTP date waits until that date', async () => {
    const date = new Date(clock.now() + 3000).toUTCString();
    server.script({ status: 429, headers: { 'retry-after': date }, text: 'later' }, openaiReply('ok'));
    const lm = await LM.start(rt, options({ retries: 1 }));
    const call = lm.call(ask);
    await clock.waitForTimer(3000);
    clock.advance(3000);
    await expect(call).resolves.toMatchObject({ outputs: [{ text: 'ok' }] });
  });

  it('429 after the last retry is LMRateLimited carrying the Retry-After', async () => {
    server.script({ status: 429, headers: { 'retry-after': '1' }, text: 'no' }, { status: 429, headers: { 'retry-after': '1' }, text: 'still no' });
    const lm = await LM.start(rt, options({ retries: 1 }));
    const call = lm.call(ask).catch((e: unknown) => e);
    await clock.waitForTimer(1000);
    clock.advance(1000);
    const error = await call;
    expect(error).toBeInstanceOf(LMRateLimited);
    expect(error).toMatchObject({ code: 'DSPEX_LM_RATE_LIMITED', retryAfterMs: 1000 });
  });

  it('a Retry-After longer than maxRetryAfterMs fails at once instead of waiting', async () => {
    server.script({ status: 429, headers: { 'retry-after': '3600' }, text: 'tomorrow' });
    const lm = await LM.start(rt, options({ retries: { max: 3, maxRetryAfterMs: 60_000 } }));
    await expect(lm.call(ask)).rejects.toMatchObject({ code: 'DSPEX_LM_RATE_LIMITED', retryAfterMs: 3_600_000 });
    expect(server.requests).toHaveLength(1);
  });

  it('5xx after the last retry is an LMHttpError with the status', async () => {
    server.script({ status: 502, text: 'bad gateway' });
    const lm = await LM.start(rt, options({ retries: 0 }));
    const error = await lm.call(ask).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LMHttpError);
    expect((error as LMHttpError).status).toBe(502);
  });

  it('a dropped connection is a network error, retried', async () => {
    server.script((res) => res.socket?.destroy(), openaiReply('back'));
    const lm = await LM.start(rt, options({ retries: { max: 1, baseDelayMs: 10 } }));
    const call = lm.call(ask);
    await clock.waitForTimer(8); // 10/2 + 0.5 * 10/2, rounded
    clock.advance(8);
    await expect(call).resolves.toMatchObject({ outputs: [{ text: 'back' }] });
  });

  it('a refused connection is an LMNetworkError once retries are spent', async () => {
    const closed = server.url;
    await server.close();
    const lm = await LM.start(rt, options({ apiBase: closed, retries: 0 }));
    const error = await lm.call(ask).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LMNetworkError);
    expect((error as Error).message).toMatch(/ECONNREFUSED|fetch failed/);
    server = await ScriptedServer.start(); // for afterEach
  });

  it('an attempt that outlives timeoutMs is an LMTimeout', async () => {
    server.script(() => undefined); // never answers
    const lm = await LM.start(rt, options({ retries: 0, timeoutMs: 5000 }));
    const call = lm.call(ask).catch((e: unknown) => e);
    await server.nextRequest(1);
    clock.advance(5000);
    const error = await call;
    expect(error).toBeInstanceOf(LMTimeout);
    expect(error).toMatchObject({ code: 'DSPEX_LM_TIMEOUT', timeoutMs: 5000 });
  });

  it("the caller's AbortSignal ends the call with LMAborted and no retry", async () => {
    server.script(() => undefined);
    const lm = await LM.start(rt, options({ retries: 3 }));
    const controller = new AbortController();
    const call = lm.call({ ...ask, signal: controller.signal }).catch((e: unknown) => e);
    await server.nextRequest(1);
    controller.abort();
    const error = await call;
    expect(error).toBeInstanceOf(LMAborted);
    expect(server.requests).toHaveLength(1);
  });
});
