// dspy.History (DSPy's adapters/base.py format_conversation_history): the parser's two spellings, the turns each
// earlier message becomes (user with its inputs and the output reminder, assistant with every output), their place
// between the demos and the request, the signature they are rendered with, and the values dspex refuses.
// Byte-for-byte agreement with DSPy is checked by the golden cases (history_*) and the random differential test.

import { describe, expect, it } from 'vitest';
import type { LM, LMRequest, LMResponse } from '../../src/primitives/lm.js';
import { ChatAdapter } from '../../src/adapters/chat_adapter.js';
import { AdapterInputError } from '../../src/adapters/errors.js';
import { JSONAdapter } from '../../src/adapters/json_adapter.js';
import { compileSignature } from '../../src/signatures/compiler.js';
import { HISTORY_TYPE_NAME } from '../../src/signatures/history.js';
import { TypeRegistry } from '../../src/signatures/registry.js';
import { Signature } from '../../src/signatures/signature.js';
import { annotationName } from '../../src/signatures/types.js';

const QA = 'question: str, history: dspy.History -> answer: str';
const REMINDER = 'Respond with the corresponding output fields, starting with the field `[[ ## answer ## ]]`, and then ending with the marker for `[[ ## completed ## ]]`.';
const assistant = (answer: string): string => `[[ ## answer ## ]]\n${answer}\n\n[[ ## completed ## ]]\n`;
const user = (question: string): string => `[[ ## question ## ]]\n${question}\n\n${REMINDER}`;

describe('the signature parser', () => {
  it('reads dspy.History and the bare History as the same type, shown as DSPy names it', () => {
    for (const text of [QA, 'question: str, history: History -> answer: str']) {
      const field = Signature.parse(text).field('history')!;
      expect(field.type).toEqual({ kind: 'custom', name: HISTORY_TYPE_NAME });
      expect(annotationName(field.type)).toBe('History');
    }
    expect(Signature.parse('history: History -> a').toString()).toContain('history: dspy.History');
  });

  it('keeps an app-registered History type for the bare name', () => {
    const registry = new TypeRegistry([{ name: 'History', schema: { type: 'object' } }]);
    expect(Signature.parse('h: History -> a', { registry }).field('h')!.type).toEqual({ kind: 'custom', name: 'History' });
  });

  it('round-trips a History signature through toJSON/fromJSON', () => {
    const sig = Signature.parse(QA);
    expect(Signature.fromJSON(JSON.parse(JSON.stringify(sig.toJSON())) as ReturnType<Signature['toJSON']>).equals(sig)).toBe(true);
  });

  it('validates a History value against pydantic\'s schema ({ messages: [objects] }, nothing else)', () => {
    const compiled = compileSignature(QA);
    expect(compiled.validateInputs({ question: 'q', history: { messages: [{ question: 'a' }] } }).ok).toBe(true);
    expect(compiled.validateInputs({ question: 'q', history: { messages: ['a'] } }).ok).toBe(false);
    expect(compiled.validateInputs({ question: 'q', history: { messages: [], extra: 1 } }).ok).toBe(false);
  });
});

describe('ChatAdapter.format with a History input', () => {
  const adapter = new ChatAdapter();

  it('puts the turns after the demos and before the request; the system message keeps the history field', () => {
    const messages = adapter.format(QA, [{ question: 'dq', history: { messages: [] }, answer: 'da' }], {
      question: 'And Germany?',
      history: { messages: [{ question: 'France?', answer: 'Paris' }] },
    });
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(messages[0]!.content).toContain('2. `history` (History):');
    expect(messages[0]!.content).toContain('[[ ## history ## ]]\n{history}');
    expect(messages[1]!.content).toBe('[[ ## question ## ]]\ndq\n\n[[ ## history ## ]]\n{"messages": []}');
    expect(messages.slice(3).map((m) => m.content)).toEqual([user('France?'), assistant('Paris'), user('And Germany?')]);
  });

  it('gives an output-only turn no user message and an input-only turn None outputs', () => {
    const messages = adapter.format(QA, [], { question: 'now', history: { messages: [{ answer: 'said first' }, { question: 'asked' }, {}] } });
    expect(messages.slice(1).map((m) => [m.role, m.content])).toEqual([
      ['assistant', assistant('said first')],
      ['user', user('asked')],
      ['assistant', assistant('None')],
      ['assistant', assistant('None')],
      ['user', user('now')],
    ]);
  });

  it('renders no turns without a history value, and never the history field in the request', () => {
    const messages = adapter.format(QA, [], { question: 'q' });
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(messages[1]!.content).toBe(user('q'));
  });

  it('treats Optional[dspy.History] as an ordinary JSON field, as DSPy does (it compares the annotation exactly)', () => {
    const messages = adapter.format('question, history: Optional[dspy.History] -> answer', [], { question: 'q', history: { messages: [{ question: 'a' }] } });
    expect(messages).toHaveLength(2);
    expect(messages[1]!.content).toContain('[[ ## history ## ]]\n{"messages": [{"question": "a"}]}');
  });

  it('refuses a history that is not { messages: [...] }, and tool-call records it cannot render as DSPy does', () => {
    for (const history of [null, [], { messages: 'x' }, { messages: [['question', 'q']] }, { messages: [{ answer: { tool_calls: [] } }] }]) {
      expect(() => adapter.format(QA, [], { question: 'q', history }), JSON.stringify(history)).toThrow(AdapterInputError);
    }
  });
});

describe('JSONAdapter.format with a History input', () => {
  it('writes each turn\'s outputs as the JSON object, null for the missing ones', () => {
    const messages = new JSONAdapter().format('question, history: dspy.History -> answer, score: int', [], {
      question: 'q',
      history: { messages: [{ question: 'earlier', answer: 'yes' }] },
    });
    expect(messages.slice(1).map((m) => m.content)).toEqual([
      '[[ ## question ## ]]\nearlier\n\nRespond with a JSON object in the following order of fields: `answer`, then `score` (must be formatted as a valid Python int).',
      '{\n  "answer": "yes",\n  "score": null\n}',
      '[[ ## question ## ]]\nq\n\nRespond with a JSON object in the following order of fields: `answer`, then `score` (must be formatted as a valid Python int).',
    ]);
  });
});

describe('Adapter.call with a History input', () => {
  it('sends the turns and parses the reply against the full signature', async () => {
    const requests: LMRequest[] = [];
    const lm: LM = {
      model: 'test/loopback',
      defaults: {},
      async call(request: LMRequest): Promise<LMResponse> {
        requests.push(request);
        return { outputs: [{ text: '[[ ## answer ## ]]\nBerlin\n\n[[ ## completed ## ]]' }], usage: {}, model: 'test/loopback', cached: false } as LMResponse;
      },
    };
    const outputs = await new ChatAdapter().call(lm, {}, QA, [], { question: 'Germany?', history: { messages: [{ question: 'France?', answer: 'Paris' }] } });
    expect(outputs).toEqual([{ answer: 'Berlin' }]);
    expect(requests[0]!.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
  });
});
