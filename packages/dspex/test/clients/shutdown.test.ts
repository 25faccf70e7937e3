// rt.shutdown() ends everything an LM client has timed or open: a retry's backoff, a rate-limited call's
// wait, the circuit breaker's cooldown, a hedge's delay and a stream's idle timeout are cleared (no timer is
// left to fire later, none keeps the process alive), calls in flight fail with a typed error, and the provider
// sees their connections closed.

import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'eventemitter3';
import { expect, it } from 'vitest';
import { LM, type LMStartOptions } from '../../src/clients/index.js';
import type { Clock } from '../../src/clients/clock.js';
import { quietRuntime, telemetryBus } from './helpers.js';

/** Real timers, kept referenced (so process.getActiveResourcesInfo() lists them) and counted while pending. */
class CountingClock implements Clock {
  readonly pending = new Map<unknown, number>();
  private readonly started = new EventEmitter<{ timer: [] }>();
  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const handle = setTimeout(() => {
      this.pending.delete(handle);
      fn();
    }, ms);
    this.pending.set(handle, ms);
    this.started.emit('timer');
    return handle;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle);
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  }
  /** Resolves once a pending timer's duration satisfies `match`. */
  waitFor(match: (ms: number) => boolean): Promise<void> {
    const found = (): boolean => [...this.pending.values()].some(match);
    if (found()) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = (): void => {
        if (!found()) return;
        this.started.off('timer', listener);
        resolve();
      };
      this.started.on('timer', listener);
    });
  }
}

const timeouts = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

const answer = JSON.stringify({ choices: [{ index: 0, message: { content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });

it('leaves no timer and no open request behind after rt.shutdown()', async () => {
  const baseline = timeouts();
  const hanging: Promise<void>[] = [];
  const arrived = new EventEmitter<{ hang: [] }>();
  // The first path segment says how the loopback provider answers.
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const mode = req.url!.split('/')[1];
      if (mode === 'unavailable') res.writeHead(503, { 'retry-after': '30' }).end('busy');
      else if (mode === 'failing') res.writeHead(500).end('down');
      else if (mode === 'hang') {
        hanging.push(new Promise((resolve) => res.on('close', () => resolve())));
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'a' } }] })}\n\n`);
        arrived.emit('hang');
      } else res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const rt = quietRuntime();
  const clock = new CountingClock();
  const start = (name: string, mode: string, extra: Partial<LMStartOptions> = {}) =>
    LM.start(rt, { name, model: 'openai/m', apiBase: `${url}/${mode}/v1`, apiKey: 'k', clock, cache: { memory: false }, telemetry: telemetryBus(), retries: 0, ...extra });
  const ask = { messages: [{ role: 'user' as const, content: 'x' }] };
  const hangs = (count: number) => new Promise<void>((resolve) => (hanging.length >= count ? resolve() : arrived.on('hang', () => hanging.length >= count && resolve())));
  try {
    const retrying = await start('retrying', 'unavailable', { retries: { max: 3 } });
    const limited = await start('limited', 'ok', { rateLimit: { rpm: 1 } });
    const breaker = await start('breaker', 'failing', { breaker: { failureThreshold: 1, cooldownMs: 20_000 } });
    const hedged = await start('hedged', 'hang', { timeoutMs: 60_000, hedge: { initialDelayMs: 5_000 } });
    const streaming = await start('streaming', 'hang', { timeoutMs: 45_000 });

    const inFlight: Promise<unknown>[] = [];
    const outcome = (p: Promise<unknown>) => inFlight.push(p.then(() => 'answered', (e: unknown) => e));
    outcome(retrying.call(ask));
    await clock.waitFor((ms) => ms === 30_000); // the Retry-After backoff
    await limited.call(ask);
    outcome(limited.call(ask));
    await clock.waitFor((ms) => ms > 50_000 && ms <= 60_000); // the rate limiter's wait
    await breaker.call(ask).catch(() => undefined);
    await clock.waitFor((ms) => ms === 20_000); // the breaker's cooldown
    outcome(hedged.call(ask));
    await clock.waitFor((ms) => ms === 5_000); // the hedge's delay
    outcome((async () => {
      for await (const chunk of streaming.stream(ask)) void chunk;
    })());
    await hangs(2);
    await clock.waitFor((ms) => ms === 45_000); // the stream's idle timeout
    expect(timeouts()).toBeGreaterThan(baseline);

    await rt.shutdown();

    const outcomes = await Promise.all(inFlight);
    for (const failure of outcomes) expect(failure).toMatchObject({ code: expect.stringMatching(/^DSPEX_/) });
    await Promise.all(hanging); // the provider saw both open requests closed
    expect([...clock.pending.values()]).toEqual([]);
    expect(timeouts()).toBeLessThanOrEqual(baseline);
  } finally {
    await rt.shutdown();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
