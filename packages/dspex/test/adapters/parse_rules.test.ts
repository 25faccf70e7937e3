// DSPy's parsing rules, spelled out (the golden tests check the same against recorded DSPy output): the first
// section of an output wins, text on the header line counts, sections end at any header, values are coerced to
// the field's type, missing outputs are an AdapterParseError naming what was expected and what was found.

import { describe, expect, it } from 'vitest';
import { ChatAdapter, matchHeader } from '../../src/adapters/chat_adapter.js';
import { AdapterParseError } from '../../src/adapters/errors.js';
import { findBalancedObject, JSONAdapter } from '../../src/adapters/json_adapter.js';
import { Signature } from '../../src/signatures/signature.js';

const chat = new ChatAdapter();
const sig = Signature.parse('question -> answer, score: int, tags: list[str]');

function parseError(run: () => unknown): AdapterParseError {
  try {
    run();
  } catch (error) {
    if (error instanceof AdapterParseError) return error;
    throw error;
  }
  throw new Error('expected an AdapterParseError');
}

describe('ChatAdapter.parse', () => {
  it('reads each output section and coerces it to its type', () => {
    const completion = '[[ ## answer ## ]]\nParis\n\n[[ ## score ## ]]\n 7 \n\n[[ ## tags ## ]]\n["city", "france"]\n\n[[ ## completed ## ]]';
    expect(chat.parse(sig, completion)).toEqual({ answer: 'Paris', score: 7, tags: ['city', 'france'] });
  });

  it('the first section of a field wins; later repeats are ignored', () => {
    const completion = '[[ ## answer ## ]]\nfirst\n[[ ## answer ## ]]\nsecond\n[[ ## score ## ]]\n1\n[[ ## tags ## ]]\n[]';
    expect(chat.parse(sig, completion).answer).toBe('first');
  });

  it('text after a header on the same line belongs to the field; input and unknown headers end a section', () => {
    const completion = '[[ ## answer ## ]] inline\n[[ ## question ## ]]\necho\n[[ ## score ## ]] 3\n[[ ## nope ## ]]\nx\n[[ ## tags ## ]] ["a"]';
    expect(chat.parse(sig, completion)).toEqual({ answer: 'inline', score: 3, tags: ['a'] });
  });

  it('keeps DSPy\'s slicing of an indented header line (the header length is cut from the unstripped line)', () => {
    const completion = '  [[ ## answer ## ]] text\n[[ ## score ## ]]\n1\n[[ ## tags ## ]]\n[]';
    expect(chat.parse(sig, completion).answer).toBe(']] text');
  });

  it('recognises only exact headers', () => {
    expect(matchHeader('[[ ## answer ## ]]')).toEqual({ name: 'answer', length: 18 });
    expect(matchHeader('[[ ## réponse ## ]] x')).toEqual({ name: 'réponse', length: 19 });
    for (const line of ['[[ ## answer ##]]', '[[## answer ## ]]', '[[ ## two words ## ]]', '[[ ##  ## ]]', 'x [[ ## answer ## ]]', '\\[\\[ ## answer ## \\]\\]']) expect(matchHeader(line)).toBeNull();
  });

  it('a missing output is an AdapterParseError listing expected and parsed fields, with DSPy\'s text', () => {
    const error = parseError(() => chat.parse(sig, '[[ ## answer ## ]]\nParis'));
    expect(error.code).toBe('DSPEX_ADAPTER_PARSE');
    expect(error.parsedResult).toEqual({ answer: 'Paris' });
    expect(error.message).toBe(
      'Adapter ChatAdapter failed to parse the LM response. \n\nLM Response: [[ ## answer ## ]]\nParis \n\n' +
        'Expected to find output fields in the LM response: [answer, score, tags] \n\n' +
        'Actual output fields parsed from the LM response: [answer] \n\n',
    );
  });

  it('a value that does not fit its type names the field, the value and the reason', () => {
    const error = parseError(() => chat.parse(sig, '[[ ## answer ## ]]\nA\n[[ ## score ## ]]\nhigh\n[[ ## tags ## ]]\n[]'));
    expect(error.message).toMatch(/^Failed to parse field score with value high from the LM response\. Error message: 1 validation error for int\n/);
    expect(error.cause).toMatchObject({ code: 'DSPEX_VALUE_PARSE' });
  });
});

describe('JSONAdapter.parse', () => {
  const json = new JSONAdapter();

  it('repairs the JSON, drops unknown keys and coerces values', () => {
    expect(json.parse(sig, "```json\n{'answer': 'Paris', 'score': '7', 'tags': ['a',], 'extra': 1}\n```")).toEqual({ answer: 'Paris', score: 7, tags: ['a'] });
  });

  it('falls back to the first balanced {...} span in prose', () => {
    expect(findBalancedObject('x {a {b} c} y {z}')).toBe('{a {b} c}');
    expect(findBalancedObject('{ unbalanced { ok }')).toBe('{ ok }');
    expect(json.parse('q -> answer', 'Here you go: {"answer": "A"} cheers')).toEqual({ answer: 'A' });
  });

  it('a reply without a JSON object is an AdapterParseError', () => {
    expect(parseError(() => json.parse(sig, 'no json here')).message).toMatch(/^LM response cannot be serialized to a JSON object\.\n\nAdapter JSONAdapter failed/);
  });
});
