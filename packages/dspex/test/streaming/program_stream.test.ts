// program.stream(): field deltas while the LM client streams from a loopback server, status events from a
// ReAct's tools, the prediction last; an abort (signal or leaving the loop) closes the provider's connection;
// a cache hit gives each field as one delta; routed and Python programs stream too.

import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, LMError, type LMHandle } from '../../src/clients/index.js';
import type { LMRequest, LMResponse, LMStreamChunk } from '../../src/primitives/lm.js';
import { JSONAdapter } from '../../src/adapters/json_adapter.js';
import { withSettings } from '../../src/program/settings.js';
import { Predict } from '../../src/predict/predict.js';
import { ChainOfThought } from '../../src/predict/chain_of_thought.js';
import { ReAct } from '../../src/predict/react.js';
import type { StreamEvent } from '../../src/streaming/index.js';
import { ScriptedServer, quietRuntime, sse } from '../clients/helpers.js';
import { ScriptedLM } from '../support/scripted_lm.js';
import { collect, fieldText } from '../support/stream_events.js';

const chunk = (content: string | null) => sse({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: content === null ? 'stop' : null }] });

/** An SSE reply that sends `pieces` as separate content deltas (a marker may be split between them). */
function streamed(pieces: string[]) {
  return (res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const piece of pieces) res.write(chunk(piece));
    res.write(chunk(null));
    res.end(sse('[DONE]'));
  };
}

let rt: Runtime;
let server: ScriptedServer;
let lm: LMHandle;
beforeEach(async () => {
  rt = quietRuntime();
  server = await ScriptedServer.start();
  lm = await LM.start(rt, { name: `s${Math.random().toString(36).slice(2, 8)}`, model: 'openai/m', apiBase: server.url, retries: 0 });
});
afterEach(async () => {
  await rt.shutdown();
  await server.close();
});

describe('native programs', () => {
  it('ChainOfThought streams each field as the LM writes it, markers split across chunks, then the prediction', async () => {
    server.script(streamed(['[[ ## reas', 'oning ## ]]\nTwo and', ' two.\n\n[', '[ ## answer ## ]]\n', '4\n\n[[ ## comp', 'leted ## ]]']));
    const cot = new ChainOfThought('question -> answer');
    cot.setLm(lm);
    const events = await collect(cot.stream({ question: '2 + 2?' }));
    const last = events.at(-1)!;
    expect(last.type).toBe('prediction');
    const fields = events.filter((e) => e.type === 'field');
    expect(fields.length).toBeGreaterThan(2);
    expect(fields.every((e) => e.predictor === 'predict' && !e.delta.includes('[') && !e.delta.includes('#'))).toBe(true);
    expect(fieldText(events)).toEqual({ reasoning: 'Two and two.', answer: '4' });
    if (last.type === 'prediction') expect(last.prediction.answer).toBe('4');
    // The request streamed (SSE), so the first delta came before the completion ended.
    expect(server.requests[0]!.body['stream']).toBe(true);
  });

  it('JSONAdapter streams the string value of each key, unescaped', async () => {
    server.script(streamed(['{"reasoning": "say \\"', 'hi\\"\\n', 'ok", "ans', 'wer": "h\\u00', 'e9"}']));
    const predict = new Predict('question -> reasoning, answer');
    predict.setLm(lm);
    const events = await withSettings({ adapter: new JSONAdapter({ structuredOutputs: 'none' }) }, () => collect(predict.stream({ question: 'q' })));
    expect(fieldText(events)).toEqual({ reasoning: 'say "hi"\nok', answer: 'hé' });
    expect(events.filter((e) => e.type === 'field').every((e) => e.predictor === 'self')).toBe(true);
  });

  it('a cache hit gives each field as one delta', async () => {
    server.script(streamed(['[[ ## answer ## ]]\nPa', 'ris\n\n[[ ## completed ## ]]']));
    const predict = new Predict('question -> answer');
    predict.setLm(lm);
    await collect(predict.stream({ question: 'Capital?' }));
    const again = await collect(predict.stream({ question: 'Capital?' }));
    expect(server.requests).toHaveLength(1);
    expect(again.filter((e) => e.type === 'field')).toEqual([{ type: 'field', field: 'answer', delta: 'Paris', predictor: 'self' }]);
  });

  for (const how of ['signal', 'break'] as const) {
    it(`${how === 'signal' ? 'options.signal' : 'leaving the loop'} aborts the provider stream (the server sees the connection close)`, async () => {
      let closed!: Promise<void>;
      server.script((res) => {
        closed = new Promise((resolve) => res.on('close', () => resolve()));
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk('[[ ## answer ## ]]\nfirst')); // and never ends
      });
      const predict = new Predict('question -> answer');
      predict.setLm(lm);
      const controller = new AbortController();
      const seen: StreamEvent[] = [];
      const outcome = (async () => {
        for await (const event of predict.stream({ question: 'q' }, { signal: controller.signal })) {
          seen.push(event);
          if (how === 'signal') controller.abort();
          else break;
        }
      })().then(() => 'ended', (error: unknown) => error);
      await server.nextRequest();
      await closed;
      expect(seen[0]).toEqual({ type: 'field', field: 'answer', delta: 'first', predictor: 'self' });
      const result = await outcome;
      if (how === 'signal') expect(result).toMatchObject({ code: 'DSPEX_LM_ABORTED' });
      else expect(result).toBe('ended');
    });
  }
});

describe('the streamed prediction and failures', () => {
  /** Streams `pieces` when the request asks for a stream, else answers them joined as one completion. */
  function answer(pieces: string[]) {
    return (res: import('node:http').ServerResponse, req: { body: Record<string, unknown> }) => {
      if (req.body['stream'] === true) return streamed(pieces)(res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: pieces.join('') }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } }));
    };
  }
  const uncached = () => LM.start(rt, { name: `u${Math.random().toString(36).slice(2, 8)}`, model: 'openai/m', apiBase: server.url, retries: 0, cache: { memory: false } });

  it('JSONAdapter: keys in another order, escapes, unicode and a key split across chunks; the prediction is call()\'s', async () => {
    const pieces = ['```json\n{"ans', 'wer": 4', '2, "reas', 'oning": "caf\\u00e9 \\ud83d', '\\ude00 said \\"[[ ## x ## ]]\\"\\n", "extra": "x"}\n```'];
    server.script(answer(pieces), answer(pieces));
    const predict = new Predict('question -> reasoning: str, answer: int');
    predict.setLm(await uncached());
    const adapter = new JSONAdapter({ structuredOutputs: 'none' });
    const events = await withSettings({ adapter }, () => collect(predict.stream({ question: 'q' })));
    const direct = await withSettings({ adapter }, () => predict.call({ question: 'q' }));
    expect(fieldText(events)).toEqual({ answer: '42', reasoning: 'café 😀 said "[[ ## x ## ]]"\n' });
    expect(events.filter((e) => e.type === 'field').map((e) => e.type === 'field' && e.field).filter((f, i, all) => f !== all[i - 1])).toEqual(['answer', 'reasoning']);
    const last = events.at(-1)!;
    expect(last.type === 'prediction' && last.prediction.toDict()).toEqual(direct.toDict());
    // JSONAdapter keeps a string value as written (DSPy's parse_value does not strip it).
    expect(direct.toDict()).toEqual({ reasoning: 'café 😀 said "[[ ## x ## ]]"\n', answer: 42 });
  });

  it('ChatAdapter: the prediction is call()\'s, typed outputs parsed the same', async () => {
    const pieces = ['[[ ## reasoning ## ]]\nSix', ' times seven.\n\n[[ ## ans', 'wer ## ]]\n4', '2\n\n[[ ## completed ## ]]'];
    server.script(answer(pieces), answer(pieces));
    const cot = new ChainOfThought('question -> answer: int');
    cot.setLm(await uncached());
    const events = await collect(cot.stream({ question: '6 * 7?' }));
    const direct = await cot.call({ question: '6 * 7?' });
    const last = events.at(-1)!;
    expect(last.type === 'prediction' && last.prediction.toDict()).toEqual(direct.toDict());
    expect(direct.answer).toBe(42);
  });

  it('a server that ignores stream: true answers whole: each field comes as one delta', async () => {
    server.script((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', choices: [{ index: 0, message: { role: 'assistant', content: '[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]' }, finish_reason: 'stop' }] }));
    });
    const predict = new Predict('question -> answer');
    predict.setLm(lm);
    const events = await collect(predict.stream({ question: 'Capital?' }));
    expect(events.filter((e) => e.type === 'field')).toEqual([{ type: 'field', field: 'answer', delta: 'Paris', predictor: 'self' }]);
    const last = events.at(-1)!;
    expect(last.type === 'prediction' && last.prediction.answer).toBe('Paris');
  });

  const failures = [
    ['the connection drops', (res: import('node:http').ServerResponse) => res.destroy(), 'DSPEX_LM_NETWORK'],
    ['the provider sends an error event', (res: import('node:http').ServerResponse) => res.end(sse({ error: { message: 'overloaded', type: 'server_error' } })), 'DSPEX_LM_HTTP'],
    ['the stream ends without its end marker', (res: import('node:http').ServerResponse) => res.end(), 'DSPEX_LM_NETWORK'],
  ] as const;
  for (const [what, fail, code] of failures) {
    it(`${what} mid-stream: the deltas so far, then the typed error from the iterator`, async () => {
      server.script((res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk('[[ ## answer ## ]]\nfirst'), () => fail(res));
      });
      const predict = new Predict('question -> answer');
      predict.setLm(lm);
      const seen: StreamEvent[] = [];
      const error = await (async () => {
        for await (const event of predict.stream({ question: 'q' })) seen.push(event);
      })().then(() => undefined, (e: unknown) => e);
      expect(seen).toEqual([{ type: 'field', field: 'answer', delta: 'first', predictor: 'self' }]);
      expect(error).toBeInstanceOf(LMError);
      expect(error).toMatchObject({ code });
    });
  }
});

/** A ScriptedLM that also streams, one character per chunk. */
class StreamingScriptedLM extends ScriptedLM {
  async *stream(request: LMRequest): AsyncIterable<LMStreamChunk> {
    const response: LMResponse = await this.call(request);
    for (const char of response.outputs[0]!.text) yield { delta: char, index: 0, done: false };
    yield { delta: '', index: 0, done: true, response };
  }
}

describe('status events', () => {
  it('a ReAct sends tool_start and tool_end around each tool call, between its predictors fields', async () => {
    const scripted = new StreamingScriptedLM([
      { next_thought: 'Look it up.', next_tool_name: 'search', next_tool_args: { query: 'France' } },
      { next_thought: 'Done.', next_tool_name: 'finish', next_tool_args: {} },
      { reasoning: 'Found it.', answer: 'Paris' },
    ]);
    const agent = new ReAct('question -> answer', [function search({ query }: { query: string }) { return `${query}: Paris`; }]);
    agent.setLm(scripted);
    const events = await collect(agent.stream({ question: 'Capital of France?' }));
    const outline = events.map((e) => (e.type === 'status' ? `${e.kind}:${e.tool}` : e.type === 'field' ? `${e.predictor}.${e.field}` : e.type)).filter((v, i, all) => v !== all[i - 1]);
    expect(outline).toEqual([
      'react.next_thought', 'react.next_tool_name', 'react.next_tool_args', 'tool_start:search', 'tool_end:search',
      'react.next_thought', 'react.next_tool_name', 'react.next_tool_args', 'tool_start:finish', 'tool_end:finish',
      'extract.predict.reasoning', 'extract.predict.answer', 'prediction',
    ]);
    expect(events.find((e) => e.type === 'status')).toEqual({ type: 'status', kind: 'tool_start', tool: 'search', args: { query: 'France' }, message: 'Calling tool search...' });
  });
});
