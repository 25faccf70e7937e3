// The token-bucket rate limiter: a call over the rpm/tpm budget waits on the client's clock, and that wait
// blocks neither the client process (other requests to it are answered) nor other clients.

import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, type LMStartOptions } from '../../src/clients/index.js';
import { TokenBucket } from '../../src/clients/rate_limiter.js';
import { ManualClock, ScriptedServer, nextEvent, openaiReply, quietRuntime, telemetryBus } from './helpers.js';

let rt: Runtime;
let server: ScriptedServer;
let clock: ManualClock;
const ask = (content: string) => ({ messages: [{ role: 'user' as const, content }] });

beforeEach(async () => {
  rt = quietRuntime();
  server = await ScriptedServer.start();
  server.fallback = openaiReply('ok', { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 });
  clock = new ManualClock();
});
afterEach(async () => {
  await rt.shutdown();
  await server.close();
});

function options(name: string, extra: Partial<LMStartOptions> = {}): LMStartOptions {
  return { name, model: `openai/${name}`, apiBase: server.url, cache: { memory: false }, clock, retries: 0, ...extra };
}

describe('token bucket', () => {
  it('refills continuously at capacity per minute, and a reservation past zero says how long to wait', () => {
    const bucket = new TokenBucket(60, clock);
    expect(bucket.reserve(60)).toBe(0);
    expect(bucket.reserve(1)).toBe(1000); // 1 unit per second
    clock.advance(500);
    expect(bucket.available).toBeCloseTo(-0.5);
    expect(bucket.reserve(2)).toBe(2500);
  });
});

describe('rate limits', () => {
  it('rpm: a call over the budget waits, while the same client answers other requests and another client calls', async () => {
    const telemetry = telemetryBus();
    const limited = await LM.start(rt, options('limited', { rateLimit: { rpm: 1 }, telemetry }));
    const free = await LM.start(rt, options('free'));
    await limited.call(ask('first'));
    const waited = nextEvent(telemetry, 'lm_rate_limited');
    const second = limited.call(ask('second'));
    expect((await waited).waitMs).toBe(60_000);
    await clock.waitForTimer(60_000);

    // While `second` waits for its token: the limited client still answers, and the other client is unaffected.
    expect(await limited.usage()).toMatchObject({ calls: 2, requests: 2 });
    await expect(free.call(ask('meanwhile'))).resolves.toMatchObject({ outputs: [{ text: 'ok' }] });
    expect(server.requests.map((r) => r.body.model)).toEqual(['limited', 'free']);

    clock.advance(60_000);
    await expect(second).resolves.toMatchObject({ outputs: [{ text: 'ok' }] });
    expect(server.requests.map((r) => r.body.model)).toEqual(['limited', 'free', 'limited']);
  });

  it('rpm: waiting calls are served in arrival order', async () => {
    const lm = await LM.start(rt, options('fifo', { rateLimit: { rpm: 2 } }));
    await Promise.all([lm.call(ask('a')), lm.call(ask('b'))]);
    const c = lm.call(ask('c'));
    await clock.waitForTimer(30_000);
    const d = lm.call(ask('d'));
    await clock.waitForTimer(60_000);
    clock.advance(30_000);
    await c;
    expect(server.requests.map((r) => (r.body.messages as { content: string }[])[0]!.content)).toEqual(['a', 'b', 'c']);
    clock.advance(30_000);
    await d;
    expect(server.requests).toHaveLength(4);
  });

  it('tpm: the estimate (prompt chars / 4 + max_tokens) is reserved, then corrected by the usage the provider reports', async () => {
    const telemetry = telemetryBus();
    const lm = await LM.start(rt, options('tpm', { rateLimit: { tpm: 1000 }, defaults: { max_tokens: 600 }, telemetry }));
    // First call reserves ~601 tokens, but the server reports 10: the bucket gets the difference back.
    await lm.call(ask('abcd'));
    let limitedCount = 0;
    telemetry.on('lm_rate_limited', () => limitedCount++);
    await lm.call(ask('abcd'));
    expect(limitedCount).toBe(0);
    // Two estimates of 601 at once exceed 1000: the second one waits.
    const third = lm.call(ask('abcd'));
    const waited = nextEvent(telemetry, 'lm_rate_limited');
    const fourth = lm.call(ask('abcd'));
    const { waitMs } = await waited;
    expect(waitMs).toBeGreaterThan(0);
    await third;
    clock.advance(waitMs);
    await fourth;
    expect(server.requests).toHaveLength(4);
  });
});
