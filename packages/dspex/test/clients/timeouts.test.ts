// timeoutMs: it bounds the wait for a response and, on a streaming call, each silence between chunks, never
// the length of a stream that keeps delivering; a timeout is retried only when retries.timeouts says so.
// Time is the semantics here, so a manual clock drives it; the server writes each chunk when the test says.

import { EventEmitter, once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, LMConfigError, LMTimeout, type LMStartOptions, type LMStreamChunk } from '../../src/clients/index.js';
import { ManualClock, ScriptedServer, openaiReply, quietRuntime, sse, telemetryBus } from './helpers.js';

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
  return { name: 't', model: 'openai/m', apiBase: server.url, cache: { memory: false }, clock, random: () => 0.5, telemetry: telemetryBus(), ...extra };
}

const delta = (content: string): string => sse({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] });
const finish = sse({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) + sse('[DONE]');

/** A stream whose first chunk goes out with the head, and each later one when `gate` emits 'next'. */
function pacedStream(pieces: string[], gate: EventEmitter, end: boolean): (res: ServerResponse) => Promise<void> {
  return async (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(delta(pieces[0]!));
    for (const piece of pieces.slice(1)) {
      await once(gate, 'next');
      res.write(delta(piece));
    }
    if (end) {
      await once(gate, 'next');
      res.end(finish);
    }
  };
}

describe('timeoutMs on a streaming call', () => {
  it('never cuts a stream that keeps delivering: 10 chunks 500 ms apart under a timeout of 800 ms', async () => {
    const pieces = Array.from({ length: 10 }, (_, i) => `p${i} `);
    const gate = new EventEmitter();
    server.script(pacedStream(pieces, gate, true));
    const lm = await LM.start(rt, options({ timeoutMs: 800 }));
    const chunks = lm.stream(ask)[Symbol.asyncIterator]();
    const received: string[] = [];
    for (let i = 0; i < pieces.length; i++) {
      const { value } = (await chunks.next()) as IteratorResult<LMStreamChunk>;
      received.push(value.delta);
      clock.advance(500); // a silence shorter than timeoutMs; 5000 ms in all, over six times timeoutMs
      gate.emit('next');
    }
    let last = (await chunks.next()).value as LMStreamChunk;
    while (!last.done) last = (await chunks.next()).value as LMStreamChunk;
    expect(received).toEqual(pieces);
    expect(last.response!.outputs[0]!.text).toBe(pieces.join(''));
  });

  it('fails with LMTimeout (idle) when the stream is silent for timeoutMs after delivering, and does not retry', async () => {
    const gate = new EventEmitter();
    server.script(pacedStream(['a', 'b', 'never sent'], gate, false));
    const lm = await LM.start(rt, options({ timeoutMs: 800, retries: { max: 3, timeouts: true } }));
    const chunks = lm.stream(ask)[Symbol.asyncIterator]();
    expect(((await chunks.next()).value as LMStreamChunk).delta).toBe('a');
    clock.advance(500);
    gate.emit('next');
    expect(((await chunks.next()).value as LMStreamChunk).delta).toBe('b');
    const failed = chunks.next().catch((e: unknown) => e);
    clock.advance(799);
    clock.advance(1);
    const error = await failed;
    expect(error).toBeInstanceOf(LMTimeout);
    expect(error).toMatchObject({ code: 'DSPEX_LM_TIMEOUT', timeoutMs: 800, phase: 'idle' });
    expect((error as Error).message).toContain('sent nothing for 800 ms');
    expect(server.requests).toHaveLength(1); // chunks went out: a retry would repeat them
  });

  it('bounds the time to the response head by timeoutMs', async () => {
    server.script(() => undefined); // never answers
    const lm = await LM.start(rt, options({ timeoutMs: 800 }));
    const failed = (async () => {
      for await (const chunk of lm.stream(ask)) void chunk;
    })().catch((e: unknown) => e);
    await server.nextRequest(1);
    clock.advance(800);
    expect(await failed).toMatchObject({ code: 'DSPEX_LM_TIMEOUT', phase: 'response' });
  });
});

describe('retrying timeouts', () => {
  it('is off by default: a timeout of 1.5 s with 3 retries costs one attempt of 1.5 s', async () => {
    server.script(() => undefined);
    const lm = await LM.start(rt, options({ timeoutMs: 1500, retries: 3 }));
    const call = lm.call(ask).catch((e: unknown) => e);
    await server.nextRequest(1);
    clock.advance(1500);
    expect(await call).toBeInstanceOf(LMTimeout);
    expect(server.requests).toHaveLength(1);
    expect(clock.pending()).toEqual([]); // no backoff waiting to send another
    expect(await lm.usage()).toMatchObject({ requests: 1, retries: 0, failures: 1 });
  });

  it('retries.timeouts: true retries a timed-out attempt with backoff', async () => {
    server.script(() => undefined, openaiReply('second time lucky'));
    const lm = await LM.start(rt, options({ timeoutMs: 1500, retries: { max: 3, baseDelayMs: 100, timeouts: true } }));
    const call = lm.call(ask);
    await server.nextRequest(1);
    clock.advance(1500);
    await clock.waitForTimer(75); // equal jitter with random 0.5: 100/2 + 0.5 * 100/2
    clock.advance(75);
    await expect(call).resolves.toMatchObject({ outputs: [{ text: 'second time lucky' }] });
    expect(await lm.usage()).toMatchObject({ requests: 2, retries: 1 });
  });

  it('refuses a retries.timeouts that is not a boolean', async () => {
    await expect(LM.start(rt, options({ retries: { timeouts: 'yes' as unknown as boolean } }))).rejects.toBeInstanceOf(LMConfigError);
  });
});
