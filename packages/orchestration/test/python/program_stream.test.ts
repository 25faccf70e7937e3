// Streaming through the orchestration layer (moved from dspex's streaming tests with the router and the Python
// interop): a routed module streams from whichever side runs, a Python program forwards call_stream chunks.

import { Predict, type LMRequest, type LMResponse, type LMStreamChunk, type StreamEvent } from 'dspex';
import { describe, expect, it } from 'vitest';
import { Router, pythonProgram, type PythonSession } from '../../src/index.js';
import { ScriptedLM } from '../../../dspex/test/support/scripted_lm.js';
import { collect, fieldText } from '../../../dspex/test/support/stream_events.js';

/** A ScriptedLM that also streams, one character per chunk. */
class StreamingScriptedLM extends ScriptedLM {
  async *stream(request: LMRequest): AsyncIterable<LMStreamChunk> {
    const response: LMResponse = await this.call(request);
    for (const char of response.outputs[0]!.text) yield { delta: char, index: 0, done: false };
    yield { delta: '', index: 0, done: true, response };
  }
}

describe('other programs', () => {
  it('a routed module streams from its native side', async () => {
    const predict = new Predict('question -> answer');
    predict.setLm(new StreamingScriptedLM([{ answer: 'blue' }]));
    const routed = new Router().module(predict);
    const events = await collect(routed.stream({ question: 'Sky?' }));
    expect(fieldText(events)).toEqual({ answer: 'blue' });
    expect(events.at(-1)).toMatchObject({ type: 'prediction' });
  });

  it('a Python program forwards call_stream chunks and ends with the prediction', async () => {
    const asked: unknown[] = [];
    const session: PythonSession = {
      id: 's',
      call: () => Promise.reject(new Error('a streamed call uses call_stream')),
      rebuild: () => Promise.resolve(),
      stream: ((command: string, args?: Record<string, unknown>) => {
        asked.push([command, args]);
        const chunks = [{ type: 'field', field: 'answer', delta: 'Pa', predictor: 'self' }, { type: 'status', kind: 'tool_start', message: 'Calling tool x...' }, { type: 'field', field: 'answer', delta: 'ris', predictor: 'self' }];
        const iterate = async function* (): AsyncGenerator<unknown> {
          yield* chunks;
        };
        return Object.assign(iterate(), { result: Promise.resolve<unknown>({ answer: 'Paris' }) });
      }) as PythonSession['stream'],
    };
    const events = await collect(pythonProgram(session, 'h1').stream({ question: 'q' }));
    expect(asked).toEqual([['call_stream', { handle: 'h1', kwargs: { question: 'q' } }]]);
    expect(events.map((e) => e.type)).toEqual(['field', 'status', 'field', 'prediction']);
    expect(fieldText(events)).toEqual({ answer: 'Paris' });
  });
});
