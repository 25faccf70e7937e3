// Adapter.call against the LM contract: n outputs, ChatAdapter's fallback to JSONAdapter on a reply it cannot
// parse (a second LM call, as DSPy's ChatAdapter.__call__), JSONAdapter's structured-output request and its JSON-mode
// fallbacks, empty replies, defaults for missing optional outputs.

import { describe, expect, it } from 'vitest';
import type { LM, LMOutput, LMRequest, LMResponse } from '../../src/primitives/lm.js';
import { ChatAdapter } from '../../src/adapters/chat_adapter.js';
import { AdapterParseError } from '../../src/adapters/errors.js';
import { JSONAdapter } from '../../src/adapters/json_adapter.js';
import { LMHttpError, LMTimeout } from '../../src/clients/errors.js';
import { Signature } from '../../src/signatures/signature.js';

type Reply = LMOutput[] | Error;

/** An LM that answers each call with the next scripted reply and records every request (declaring json_schema). */
function scriptedLM(...replies: Reply[]): LM & { requests: LMRequest[] } {
  const requests: LMRequest[] = [];
  return {
    model: 'test/scripted',
    structuredOutputs: 'json_schema',
    defaults: {},
    requests,
    async call(request: LMRequest): Promise<LMResponse> {
      requests.push(request);
      const reply = replies.shift();
      if (reply === undefined) throw new Error('scripted LM: no reply left');
      if (reply instanceof Error) throw reply;
      return { outputs: reply, usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, model: 'test/scripted', cached: false };
    },
  };
}

const sig = Signature.parse('question -> answer, confidence: float');
const chatReply = (answer: string, confidence: string): LMOutput => ({ text: `[[ ## answer ## ]]\n${answer}\n\n[[ ## confidence ## ]]\n${confidence}\n\n[[ ## completed ## ]]` });

describe('ChatAdapter.call', () => {
  it('sends the formatted messages with the config and parses every one of n outputs', async () => {
    const lm = scriptedLM([chatReply('a', '0.1'), chatReply('b', '0.2'), chatReply('c', '0.3')]);
    const outputs = await new ChatAdapter().call(lm, { n: 3, temperature: 0.7 }, sig, [], { question: 'q?' });
    expect(outputs).toEqual([
      { answer: 'a', confidence: 0.1 },
      { answer: 'b', confidence: 0.2 },
      { answer: 'c', confidence: 0.3 },
    ]);
    expect(lm.requests).toHaveLength(1);
    expect(lm.requests[0]!.config).toEqual({ n: 3, temperature: 0.7 });
    expect(lm.requests[0]!.messages).toEqual(new ChatAdapter().format(sig, [], { question: 'q?' }));
    expect(lm.requests[0]!.responseFormat).toBeUndefined();
  });

  it('falls back to JSONAdapter (a second call, with a structured response format) when the reply has no headers', async () => {
    const lm = scriptedLM([{ text: 'The answer is a.' }], [{ text: '{"answer": "a", "confidence": 0.9}' }]);
    const outputs = await new ChatAdapter().call(lm, {}, sig, [], { question: 'q?' });
    expect(outputs).toEqual([{ answer: 'a', confidence: 0.9 }]);
    expect(lm.requests).toHaveLength(2);
    expect(lm.requests[1]!.messages).toEqual(new JSONAdapter().format(sig, [], { question: 'q?' }));
    expect(lm.requests[1]!.responseFormat).toMatchObject({ name: 'DSPyProgramOutputs', strict: true, schema: { required: ['answer', 'confidence'] } });
  });

  it('rejects with JSONAdapter\'s AdapterParseError when the fallback fails too, and does not loop', async () => {
    const lm = scriptedLM([{ text: 'nope' }], [{ text: 'still nope' }]);
    await expect(new ChatAdapter().call(lm, {}, sig, [], { question: 'q?' })).rejects.toMatchObject({ code: 'DSPEX_ADAPTER_PARSE', adapterName: 'JSONAdapter' });
    expect(lm.requests).toHaveLength(2);
  });

  it('with useJsonAdapterFallback: false, rejects with ChatAdapter\'s error after one call', async () => {
    const lm = scriptedLM([{ text: 'nope' }]);
    await expect(new ChatAdapter({ useJsonAdapterFallback: false }).call(lm, {}, sig, [], { question: 'q?' })).rejects.toBeInstanceOf(AdapterParseError);
    expect(lm.requests).toHaveLength(1);
  });

  it('an empty output is an AdapterParseError with DSPy\'s message; LM errors pass through untouched', async () => {
    const empty = new ChatAdapter({ useJsonAdapterFallback: false }).call(scriptedLM([{ text: '' }]), {}, sig, [], { question: 'q?' });
    await expect(empty).rejects.toThrow(/^The LM returned an empty or null response\.\n\nAdapter ChatAdapter failed to parse the LM response\. /);
    const boom = new Error('rate limited');
    await expect(new ChatAdapter().call(scriptedLM(boom), {}, sig, [], { question: 'q?' })).rejects.toBe(boom);
  });

  it('a missing Optional output becomes null; required ones are errors', async () => {
    const optional = Signature.parse('q -> answer, note: Optional[str]');
    const [outputs] = await new ChatAdapter().call(scriptedLM([{ text: '[[ ## answer ## ]]\nA' }]), {}, optional, [], { q: 'x' });
    expect(outputs).toEqual({ answer: 'A', note: null });
  });
});

describe('JSONAdapter.call', () => {
  it('asks for the strict DSPyProgramOutputs schema', async () => {
    const lm = scriptedLM([{ text: '{"answer": "a", "confidence": "0.5"}' }]);
    expect(await new JSONAdapter().call(lm, {}, sig, [], { question: 'q' })).toEqual([{ answer: 'a', confidence: 0.5 }]);
    expect(lm.requests[0]!.responseFormat?.schema).toMatchObject({ additionalProperties: false, title: 'DSPyProgramOutputs' });
    expect(lm.requests[0]!.config?.response_format).toBeUndefined();
  });

  it('uses JSON mode for dict outputs, which strict schemas cannot express', async () => {
    const lm = scriptedLM([{ text: '{"counts": {"a": 1}}' }]);
    expect(await new JSONAdapter().call(lm, {}, 'text -> counts: dict[str, int]', [], { text: 'a' })).toEqual([{ counts: { a: 1 } }]);
    expect(lm.requests[0]!.responseFormat).toBeUndefined();
    expect(lm.requests[0]!.config?.response_format).toEqual({ type: 'json_object' });
  });

  it('retries once in JSON mode when the server refuses the schema request (HTTP 400), and only then', async () => {
    const lm = scriptedLM(new LMHttpError('openai', 400, 'response_format json_schema is not supported'), [{ text: '{"answer": "a", "confidence": 1}' }]);
    expect(await new JSONAdapter().call(lm, {}, sig, [], { question: 'q' })).toEqual([{ answer: 'a', confidence: 1 }]);
    expect(lm.requests).toHaveLength(2);
    expect(lm.requests[1]!.responseFormat).toBeUndefined();
    expect(lm.requests[1]!.config?.response_format).toEqual({ type: 'json_object' });
    const timeout = new LMTimeout('openai', 1000);
    const slow = scriptedLM(timeout, [{ text: '{}' }]);
    await expect(new JSONAdapter().call(slow, {}, sig, [], { question: 'q' })).rejects.toBe(timeout);
    expect(slow.requests).toHaveLength(1);
  });

  it('structuredOutputs: none sends no response format at all', async () => {
    const lm = scriptedLM([{ text: '{"answer": "a", "confidence": 1}' }]);
    await new JSONAdapter({ structuredOutputs: 'none' }).call(lm, { max_tokens: 5 }, sig, [], { question: 'q' });
    expect(lm.requests[0]!.responseFormat).toBeUndefined();
    expect(lm.requests[0]!.config).toEqual({ max_tokens: 5 });
  });

  it('an aborted call is not retried', async () => {
    const controller = new AbortController();
    controller.abort();
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    const lm = scriptedLM(abort, [{ text: '{}' }]);
    await expect(new JSONAdapter().call(lm, {}, sig, [], { question: 'q' }, { signal: controller.signal })).rejects.toBe(abort);
    expect(lm.requests).toHaveLength(1);
    expect(lm.requests[0]!.signal).toBe(controller.signal);
  });
});
