// The circuit breaker: consecutive provider failures open it, open fails fast with CircuitOpen and makes no
// request, the cooldown (on the client's clock) moves it to half-open with a single trial call, and the
// trial's outcome closes or reopens it. Client-side errors (a 400) never open it.

import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CircuitOpen, LM, LMHttpError, type LMStartOptions } from '../../src/clients/index.js';
import { ManualClock, ScriptedServer, nextEvent, openaiReply, quietRuntime, telemetryBus } from './helpers.js';
import type { ServerResponse } from 'node:http';

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
  return { name: 'cb', model: 'openai/m', apiBase: server.url, cache: { memory: false }, clock, retries: 0, breaker: { failureThreshold: 2, cooldownMs: 10_000 }, ...extra };
}

async function openBreaker(telemetry = telemetryBus()) {
  const lm = await LM.start(rt, options({ telemetry }));
  server.script({ status: 500, text: 'x' }, { status: 500, text: 'x' });
  await expect(lm.call(ask)).rejects.toBeInstanceOf(LMHttpError);
  expect(await lm.breakerState()).toBe('closed');
  const opened = nextEvent(telemetry, 'lm_breaker', (e) => e.to === 'open');
  await expect(lm.call(ask)).rejects.toBeInstanceOf(LMHttpError);
  await opened;
  return { lm, telemetry };
}

describe('circuit breaker', () => {
  it('fires no transition after rt.shutdown(): the cooldown ends with the client process', async () => {
    const { telemetry } = await openBreaker();
    const transitions: unknown[] = [];
    telemetry.on('lm_breaker', (event) => transitions.push(event));
    await rt.shutdown();
    clock.advance(10_000);
    expect(transitions).toEqual([]);
  });

  it('opens after failureThreshold consecutive failures and then fails fast without a request', async () => {
    const { lm } = await openBreaker();
    expect(await lm.breakerState()).toBe('open');
    const error = await lm.call(ask).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitOpen);
    expect(error).toMatchObject({ code: 'DSPEX_LM_CIRCUIT_OPEN', state: 'open' });
    expect(server.requests).toHaveLength(2);
  });

  it('half-open after the cooldown lets exactly one trial through; its success closes the circuit', async () => {
    const { lm, telemetry } = await openBreaker();
    const halfOpen = nextEvent(telemetry, 'lm_breaker', (e) => e.to === 'half_open');
    clock.advance(9_999);
    expect(await lm.breakerState()).toBe('open');
    clock.advance(1);
    await halfOpen;

    let release!: () => void;
    server.script((res: ServerResponse) => {
      release = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ index: 0, message: { content: 'back' } }] }));
    });
    const trial = lm.call(ask);
    await server.nextRequest(3);
    await expect(lm.call(ask)).rejects.toMatchObject({ code: 'DSPEX_LM_CIRCUIT_OPEN', state: 'half_open' });
    release();
    await expect(trial).resolves.toMatchObject({ outputs: [{ text: 'back' }] });
    expect(await lm.breakerState()).toBe('closed');
    server.script(openaiReply('normal'));
    await expect(lm.call(ask)).resolves.toMatchObject({ outputs: [{ text: 'normal' }] });
  });

  it('a failed trial opens the circuit again for another cooldown', async () => {
    const { lm, telemetry } = await openBreaker();
    clock.advance(10_000);
    server.script({ status: 503, text: 'still down' });
    const reopened = nextEvent(telemetry, 'lm_breaker', (e) => e.from === 'half_open' && e.to === 'open');
    await expect(lm.call(ask)).rejects.toBeInstanceOf(LMHttpError);
    await reopened;
    await expect(lm.call(ask)).rejects.toBeInstanceOf(CircuitOpen);
    expect(server.requests).toHaveLength(3);
  });

  it('client errors (400) and successes in between do not open it', async () => {
    const lm = await LM.start(rt, options());
    server.script({ status: 400, text: 'bad' }, { status: 400, text: 'bad' }, { status: 500, text: 'x' }, openaiReply('ok'), { status: 500, text: 'x' });
    for (let i = 0; i < 5; i++) await lm.call(ask).catch(() => undefined);
    expect(await lm.breakerState()).toBe('closed');
  });

  it('breaker: false turns it off', async () => {
    const lm = await LM.start(rt, options({ breaker: false }));
    server.fallback = { status: 500, text: 'x' };
    for (let i = 0; i < 4; i++) await expect(lm.call(ask)).rejects.toBeInstanceOf(LMHttpError);
    expect(server.requests).toHaveLength(4);
  });
});
