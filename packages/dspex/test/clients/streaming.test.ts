// Streaming: the SSE parser yields the same events however the bytes are split (property-based, seed printed
// on failure), and the OpenAI client streams text deltas and tool-call deltas written one byte at a time.

import fc from 'fast-check';
import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, SseParser, type LMStreamChunk, type SseEvent } from '../../src/clients/index.js';
import { ScriptedServer, nextEvent, quietRuntime, sse, sseBytes, telemetryBus } from './helpers.js';

function parseSplit(bytes: Buffer, cuts: number[]): SseEvent[] {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const events: SseEvent[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    events.push(...parser.push(decoder.decode(bytes.subarray(start, point), { stream: true })));
    start = point;
  }
  events.push(...parser.push(decoder.decode()));
  return events;
}

describe('SSE parser', () => {
  it('parses fields, comments, multi-line data, CRLF and a BOM', () => {
    const text = '\uFEFF: comment\r\nevent: delta\r\ndata: a\r\ndata: b\r\nid: 7\r\n\r\ndata:no-space\n\nretry: 10\n\n';
    expect(new SseParser().push(text)).toEqual([
      { event: 'delta', data: 'a\nb', id: '7' },
      { event: 'message', data: 'no-space', id: '7' },
    ]);
  });

  it('yields the same events for any split of the bytes (including inside UTF-8 and between CR and LF)', () => {
    const events = fc.array(
      fc.record({ event: fc.constantFrom('', 'message_start', 'delta'), lines: fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !/[\r\n]/.test(s)), { minLength: 1, maxLength: 3 }), eol: fc.constantFrom('\n', '\r\n', '\r') }),
      { minLength: 1, maxLength: 6 },
    );
    fc.assert(
      fc.property(events, fc.array(fc.nat(), { maxLength: 12 }), (list, cuts) => {
        const text = list.map((e) => `${e.event ? `event: ${e.event}${e.eol}` : ''}${e.lines.map((l) => `data: ${l}${e.eol}`).join('')}${e.eol}`).join('');
        const bytes = Buffer.from(text, 'utf8');
        const whole = parseSplit(bytes, []);
        expect(whole.map((e) => e.data)).toEqual(list.map((e) => e.lines.join('\n')));
        expect(parseSplit(bytes, cuts)).toEqual(whole);
      }),
      { numRuns: 300, verbose: 1 },
    );
  });
});

let rt: Runtime;
let server: ScriptedServer;
beforeEach(async () => {
  rt = quietRuntime();
  server = await ScriptedServer.start();
});
afterEach(async () => {
  await rt.shutdown();
  await server.close();
});

async function collect(stream: AsyncIterable<LMStreamChunk>): Promise<LMStreamChunk[]> {
  const chunks: LMStreamChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => sse({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] });

describe('OpenAI streaming', () => {
  it('streams deltas written one byte at a time (multi-byte text too), then the final response with usage', async () => {
    server.script(
      sseBytes([
        chunk({ role: 'assistant', content: '' }),
        chunk({ content: 'Héllo' }),
        chunk({ content: ', wörld ☃' }),
        chunk({}, 'stop'),
        sse({ id: 'c', choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }),
        sse('[DONE]'),
      ]),
    );
    const lm = await LM.start(rt, { name: 's', model: 'openai/m', apiBase: server.url, retries: 0 });
    const chunks = await collect(lm.stream({ messages: [{ role: 'user', content: 'hi' }] }));
    expect(chunks.filter((c) => !c.done).map((c) => c.delta)).toEqual(['Héllo', ', wörld ☃']);
    const last = chunks.at(-1)!;
    expect(last.done).toBe(true);
    expect(last.response).toMatchObject({ outputs: [{ text: 'Héllo, wörld ☃', finishReason: 'stop' }], usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 }, cached: false });
    expect(server.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });

    // The assembled response was cached: the same request streams from the cache without a request.
    const again = await collect(lm.stream({ messages: [{ role: 'user', content: 'hi' }] }));
    expect(again.map((c) => c.delta).join('')).toBe('Héllo, wörld ☃');
    expect(again.at(-1)!.response!.cached).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('assembles tool calls whose arguments arrive in pieces', async () => {
    server.script(
      sseBytes([
        chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'search', arguments: '' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"qu' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: 'ery":"otp"}' } }] }),
        chunk({}, 'tool_calls'),
        sse('[DONE]'),
      ]),
    );
    const lm = await LM.start(rt, { name: 't', model: 'openai/m', apiBase: server.url, retries: 0, cache: { memory: false } });
    const chunks = await collect(lm.stream({ messages: [{ role: 'user', content: 'find' }], tools: [{ name: 'search', description: 's', parameters: { type: 'object' } }] }));
    expect(chunks.at(-1)!.response!.outputs[0]).toEqual({ text: '', toolCalls: [{ id: 'call_1', name: 'search', args: { query: 'otp' } }], finishReason: 'tool_calls' });
  });

  it('a stream cut before [DONE] fails with a network error; a malformed event with LMBadResponse', async () => {
    server.script(sseBytes([chunk({ content: 'par' })]), sseBytes(['data: {not json\n\n']));
    const lm = await LM.start(rt, { name: 'u', model: 'openai/m', apiBase: server.url, retries: 0, cache: { memory: false } });
    const cut: LMStreamChunk[] = [];
    const error = await (async () => {
      for await (const c of lm.stream({ messages: [{ role: 'user', content: 'a' }] })) cut.push(c);
    })().catch((e: unknown) => e);
    expect(cut.map((c) => c.delta)).toEqual(['par']);
    expect(error).toMatchObject({ code: 'DSPEX_LM_NETWORK' });
    await expect(collect(lm.stream({ messages: [{ role: 'user', content: 'b' }] }))).rejects.toMatchObject({ code: 'DSPEX_LM_BAD_RESPONSE' });
  });

  it('a consumer that stops iterating aborts the request (the server sees the connection close)', async () => {
    let closed!: Promise<void>;
    server.script((res) => {
      closed = new Promise((resolve) => res.on('close', () => resolve()));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk({ content: 'first' })); // and never ends
    });
    const telemetry = telemetryBus();
    const lm = await LM.start(rt, { name: 'early', model: 'openai/m', apiBase: server.url, retries: 0, cache: { memory: false }, telemetry });
    const failed = nextEvent(telemetry, 'lm_error');
    for await (const c of lm.stream({ messages: [{ role: 'user', content: 'a' }] })) {
      expect(c.delta).toBe('first');
      break;
    }
    await closed;
    expect((await failed).code).toBe('DSPEX_LM_ABORTED');
    expect(await lm.usage()).toMatchObject({ calls: 1, failures: 1 });
  });
});
