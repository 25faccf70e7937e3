// Hedged requests (the `hedge` option): an attempt slower than the hedge delay gets a duplicate, the first
// answer wins and the other request is aborted; off by default; the rate limiter and the cache still hold.
// The delay is time semantics, so a manual clock fires it; the server is real loopback HTTP.

import type { ServerResponse } from 'node:http';
import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LatencyWindow, normalizeHedge } from '../../src/clients/hedge.js';
import { LM, LMConfigError, LMHttpError, type LMStartOptions } from '../../src/clients/index.js';
import { ManualClock, ScriptedServer, nextEvent, openaiReply, quietRuntime, telemetryBus, type Step } from './helpers.js';

let rt: Runtime;
let server: ScriptedServer;
let clock: ManualClock;
const ask = { messages: [{ role: 'user' as const, content: 'x' }] };
const HEDGE_MS = 50;

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
  return { name: 'h', model: 'openai/m', apiBase: server.url, cache: { memory: false }, clock, random: () => 0.5, retries: 0, hedge: { initialDelayMs: HEDGE_MS }, ...extra };
}

/** A step that answers only when the test calls `release`, and reports whether the client hung up first. */
function held(reply: Step): { step: Step; release: () => void; closedByClient: Promise<void> } {
  let release!: () => void;
  let closed!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const closedByClient = new Promise<void>((resolve) => (closed = resolve));
  const step: Step = async (res: ServerResponse, req) => {
    res.once('close', () => {
      if (!res.writableFinished) closed();
    });
    await released;
    if (res.destroyed) return;
    if (typeof reply === 'function') await reply(res, req);
    else res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(reply.json));
  };
  return { step, release, closedByClient };
}

describe('hedged requests', () => {
  it('a request slower than the hedge delay gets a duplicate; the first answer wins and the slow one is aborted', async () => {
    const telemetry = telemetryBus();
    const slow = held(openaiReply('slow'));
    server.script(slow.step, openaiReply('fast'));
    const lm = await LM.start(rt, options({ telemetry }));
    const sent = nextEvent(telemetry, 'lm_hedge_sent');
    const won = nextEvent(telemetry, 'lm_hedge_won');
    const call = lm.call(ask);
    await server.nextRequest(1);
    await clock.waitForTimer(HEDGE_MS);
    clock.advance(HEDGE_MS);
    expect(await sent).toMatchObject({ client: 'h', delayMs: HEDGE_MS, attempt: 0 });
    expect((await call).outputs[0]!.text).toBe('fast');
    expect(await won).toMatchObject({ winner: 'hedge' });
    await slow.closedByClient;
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.body).toEqual(server.requests[0]!.body);
    // The winner's usage counts once; the duplicate counts as a request and a hedge.
    expect(await lm.usage()).toMatchObject({ calls: 1, requests: 2, hedges: 1, failures: 0, totalTokens: 8 });
  });

  it('an answer before the delay sends nothing more', async () => {
    const telemetry = telemetryBus();
    let hedges = 0;
    telemetry.on('lm_hedge_sent', () => hedges++);
    server.script(openaiReply('ok'));
    const lm = await LM.start(rt, options({ telemetry }));
    expect((await lm.call(ask)).outputs[0]!.text).toBe('ok');
    expect(clock.pending()).not.toContain(HEDGE_MS);
    clock.advance(10 * HEDGE_MS);
    expect(await lm.usage()).toMatchObject({ requests: 1, hedges: 0 });
    expect(hedges).toBe(0);
  });

  it('is off by default: a slow request is never duplicated', async () => {
    const slow = held(openaiReply('slow'));
    server.script(slow.step);
    const lm = await LM.start(rt, options({ hedge: undefined }));
    const call = lm.call(ask);
    await server.nextRequest(1);
    expect(clock.pending()).toEqual([120_000]);
    clock.advance(60_000);
    slow.release();
    expect((await call).outputs[0]!.text).toBe('slow');
    expect(server.requests).toHaveLength(1);
  });

  it('a primary that fails after the duplicate went out waits for the duplicate instead of failing', async () => {
    const failing = held({ status: 500, json: { error: { message: 'down' } } });
    const second = held(openaiReply('second'));
    server.script(failing.step, second.step);
    const telemetry = telemetryBus();
    const lm = await LM.start(rt, options({ telemetry }));
    const call = lm.call(ask);
    await clock.waitForTimer(HEDGE_MS);
    clock.advance(HEDGE_MS);
    await server.nextRequest(2);
    const won = nextEvent(telemetry, 'lm_hedge_won');
    failing.release();
    await server.nextRequest(2);
    second.release();
    expect((await call).outputs[0]!.text).toBe('second');
    expect(await won).toMatchObject({ winner: 'hedge' });
  });

  it('both requests failing fails the call with the primary error (retries then apply as usual)', async () => {
    const first = held({ status: 500, json: { error: { message: 'first down' } } });
    server.script(first.step, { status: 503, json: { error: { message: 'second down' } } });
    const lm = await LM.start(rt, options());
    const call = lm.call(ask).catch((e: unknown) => e);
    await clock.waitForTimer(HEDGE_MS);
    clock.advance(HEDGE_MS);
    await server.nextRequest(2);
    first.release();
    const error = await call;
    expect(error).toBeInstanceOf(LMHttpError);
    expect(error).toMatchObject({ status: 500 });
  });

  it('respects the rate limiter: no duplicate when it has no room now', async () => {
    const telemetry = telemetryBus();
    const slow = held(openaiReply('slow'));
    server.script(slow.step);
    const lm = await LM.start(rt, options({ telemetry, rateLimit: { rpm: 1 } }));
    const skipped = nextEvent(telemetry, 'lm_hedge_skipped');
    const call = lm.call(ask);
    await clock.waitForTimer(HEDGE_MS);
    clock.advance(HEDGE_MS);
    expect(await skipped).toEqual({ client: 'h', reason: 'rate_limit' });
    slow.release();
    expect((await call).outputs[0]!.text).toBe('slow');
    expect(server.requests).toHaveLength(1);
    expect(await lm.usage()).toMatchObject({ requests: 1, hedges: 0 });
  });

  it('respects the cache: the winning answer is cached once and the next identical call makes no request', async () => {
    const slow = held(openaiReply('slow'));
    server.script(slow.step, openaiReply('fast'));
    const lm = await LM.start(rt, options({ cache: { memory: true } }));
    const call = lm.call(ask);
    await clock.waitForTimer(HEDGE_MS);
    clock.advance(HEDGE_MS);
    expect((await call).outputs[0]!.text).toBe('fast');
    const again = await lm.call(ask);
    expect(again).toMatchObject({ cached: true, outputs: [{ text: 'fast' }] });
    expect(server.requests).toHaveLength(2);
    expect(await lm.usage()).toMatchObject({ calls: 2, cacheHits: 1, requests: 2 });
  });

  it('the delay follows the observed latency quantile once enough answers were timed', () => {
    const policy = normalizeHedge({ quantile: 0.95, minSamples: 20, window: 100, minDelayMs: 5 })!;
    const window = new LatencyWindow(policy);
    for (let i = 1; i <= 19; i++) window.record(i);
    expect(window.delay()).toBeUndefined();
    window.record(20);
    expect(window.delay()).toBe(19);
    for (let i = 0; i < 200; i++) window.record(i % 100 === 0 ? 1000 : 100);
    expect(window.delay()).toBe(100);
    const floor = new LatencyWindow(normalizeHedge({ minSamples: 1, minDelayMs: 30 })!);
    floor.record(2);
    expect(floor.delay()).toBe(30);
  });

  it('refuses invalid options with a message that says what to pass', () => {
    expect(normalizeHedge(undefined)).toBeUndefined();
    expect(normalizeHedge(false)).toBeUndefined();
    expect(normalizeHedge(true)).toMatchObject({ quantile: 0.95, minSamples: 20 });
    expect(() => normalizeHedge({ quantile: 1.5 })).toThrow(LMConfigError);
    expect(() => normalizeHedge({ minSamples: 0 })).toThrow(/hedge.minSamples/);
    expect(() => normalizeHedge({ initialDelayMs: -1 })).toThrow(/hedge.initialDelayMs/);
  });
});
