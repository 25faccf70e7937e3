// Token counts as each provider reports them, read the way LiteLLM reads them for DSPy, streamed or not:
// Anthropic's prompt-cache reads and writes count as prompt tokens (input_tokens leaves them out) and are named
// in promptTokensDetails; Gemini's thinking tokens count as completion tokens (candidatesTokenCount leaves them
// out) with completionTokensDetails.reasoningTokens. The cost prices cache reads, cache writes and the rest.

import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, type LMStartOptions } from '../../src/clients/index.js';
import type { LMResponse } from '../../src/primitives/lm.js';
import { costOf } from '../../src/usage/prices.js';
import { ScriptedServer, quietRuntime, sse, type Step } from '../clients/helpers.js';

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

const ask = { messages: [{ role: 'user' as const, content: 'Capital of France?' }] };

async function both(model: string, whole: Step, streamed: Step, extra: Partial<LMStartOptions> = {}): Promise<{ call: LMResponse; stream: LMResponse }> {
  const lm = await LM.start(rt, { name: model.split('/')[0]!, model, apiBase: server.url, apiKey: 'k', retries: 0, cache: { memory: false }, ...extra });
  server.script(whole, streamed);
  const call = await lm.call(ask);
  let stream: LMResponse | undefined;
  for await (const chunk of lm.stream(ask)) if (chunk.done) stream = chunk.response;
  return { call, stream: stream! };
}

const eventStream = (events: string[]): Step => (res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.end(events.join(''));
};

describe('Anthropic', () => {
  const usage = { input_tokens: 5, cache_creation_input_tokens: 200, cache_read_input_tokens: 1000, output_tokens: 40 };
  const whole: Step = { json: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-20250514', content: [{ type: 'text', text: 'Paris' }], stop_reason: 'end_turn', usage } };
  const streamed = eventStream([
    sse({ type: 'message_start', message: { id: 'msg_2', model: 'claude-sonnet-4-20250514', usage: { ...usage, output_tokens: 1 } } }, 'message_start'),
    sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Paris' } }, 'content_block_delta'),
    sse({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 40 } }, 'message_delta'),
    sse({ type: 'message_stop' }, 'message_stop'),
  ]);
  const expected = { promptTokens: 1205, completionTokens: 40, totalTokens: 1245, promptTokensDetails: { cachedTokens: 1000, cacheCreationTokens: 200 } };

  it('prompt tokens include the cache reads and writes, named in the details (called or streamed)', async () => {
    const { call, stream } = await both('anthropic/claude-sonnet-4-20250514', whole, streamed);
    expect(call.usage).toEqual(expected);
    expect(stream.usage).toEqual(expected);
  });

  it('costs cache reads, cache writes and the rest of the prompt each at their price', () => {
    // claude-sonnet-4: input 3, cache write 3.75, cache read 0.3, output 15 USD per million tokens.
    expect(costOf('anthropic/claude-sonnet-4-20250514', expected)).toBeCloseTo((5 * 3 + 200 * 3.75 + 1000 * 0.3 + 40 * 15) / 1e6, 12);
  });

  it('a reply without cache fields has no details', async () => {
    const plain = { json: { id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Paris' }], stop_reason: 'end_turn', usage: { input_tokens: 12, output_tokens: 3 } } };
    const plainStream = eventStream([
      sse({ type: 'message_start', message: { id: 'msg_2', usage: { input_tokens: 12, output_tokens: 1 } } }, 'message_start'),
      sse({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } }, 'message_delta'),
      sse({ type: 'message_stop' }, 'message_stop'),
    ]);
    const { call, stream } = await both('anthropic/claude-3-5-haiku-latest', plain, plainStream);
    expect(call.usage).toEqual({ promptTokens: 12, completionTokens: 3, totalTokens: 15 });
    expect(stream.usage).toEqual({ promptTokens: 12, completionTokens: 3, totalTokens: 15 });
  });
});

describe('Gemini', () => {
  const candidate = { index: 0, content: { role: 'model', parts: [{ text: 'Paris' }] }, finishReason: 'STOP' };
  const metadata = { promptTokenCount: 300, cachedContentTokenCount: 256, candidatesTokenCount: 4, thoughtsTokenCount: 120, totalTokenCount: 424 };
  const expected = { promptTokens: 300, completionTokens: 124, totalTokens: 424, promptTokensDetails: { cachedTokens: 256 }, completionTokensDetails: { reasoningTokens: 120 } };

  it("a thinking model's thoughts count as completion tokens, cached prompt tokens are named (called or streamed)", async () => {
    const { call, stream } = await both('gemini/gemini-2.5-flash', { json: { candidates: [candidate], usageMetadata: metadata } }, eventStream([sse({ candidates: [candidate], usageMetadata: metadata })]));
    expect(call.usage).toEqual(expected);
    expect(stream.usage).toEqual(expected);
    // Thoughts are billed as output: 44 uncached + 256 cached prompt tokens, 124 output tokens on gemini-2.5-flash.
    expect(costOf('gemini/gemini-2.5-flash', call.usage)).toBeCloseTo((44 * 0.3 + 256 * 0.075 + 124 * 2.5) / 1e6, 12);
  });

  it('thoughts already counted in candidatesTokenCount are not added twice', async () => {
    const inclusive = { promptTokenCount: 10, candidatesTokenCount: 30, thoughtsTokenCount: 20, totalTokenCount: 40 };
    const { call } = await both('gemini/gemini-2.5-flash', { json: { candidates: [candidate], usageMetadata: inclusive } }, eventStream([sse({ candidates: [candidate], usageMetadata: inclusive })]));
    expect(call.usage).toEqual({ promptTokens: 10, completionTokens: 30, totalTokens: 40, completionTokensDetails: { reasoningTokens: 20 } });
  });
});
