// The streaming field parsers read a completion exactly as the adapters parse it: for any chunking, the
// concatenated deltas of each string field equal ChatAdapter.parse / JSONAdapter.parse's value, no delta holds
// marker text, and the events (field order, per-field text) are the same (property-based, seed printed on failure).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChatAdapter } from '../../src/adapters/chat_adapter.js';
import { JSONAdapter } from '../../src/adapters/json_adapter.js';
import { ChatFieldParser } from '../../src/streaming/chat_field_parser.js';
import { JSONFieldParser } from '../../src/streaming/json_field_parser.js';
import type { FieldDelta, FieldStreamParser } from '../../src/streaming/events.js';

/** No lone surrogate (String.prototype.isWellFormed, which the project's lib target predates). */
const isWellFormed = (text: string): boolean => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);

const SIGNATURE = 'question -> reasoning, answer';
const OUTPUTS = new Set(['reasoning', 'answer']);

function run(parser: FieldStreamParser, text: string, cuts: readonly number[]): FieldDelta[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const deltas: FieldDelta[] = [];
  let start = 0;
  for (const point of [...points, text.length]) {
    deltas.push(...parser.feed(text.slice(start, point)));
    start = point;
  }
  deltas.push(...parser.finish());
  return deltas;
}

/** Per field, the concatenated deltas; and the order in which fields first appear. */
function summary(deltas: readonly FieldDelta[]): { order: string[]; text: Record<string, string> } {
  const text: Record<string, string> = {};
  const order: string[] = [];
  for (const { field, delta } of deltas) {
    if (!(field in text)) order.push(field);
    text[field] = (text[field] ?? '') + delta;
  }
  return { order, text };
}

// Field text made of the pieces that trip a streaming parser: partial markers, brackets, blank lines,
// CR/LF pairs, other Python line breaks, leading/trailing whitespace, non-ASCII.
const piece = fc.constantFrom('[', '[[', '[[ #', '[[ ## ', '[[ ## x', '## ]]', ' ## ]', '\n', '\r\n', '\r', '\u2028', ' ', '\t', '  ', 'a', 'word', 'é☃', '😀', '{', '"', '\\', ']');
const fieldText = fc.array(fc.oneof(piece, fc.string({ maxLength: 6 })), { maxLength: 12 }).map((parts) => parts.join(''));
const cuts = fc.array(fc.nat(), { maxLength: 20 });

describe('ChatFieldParser', () => {
  const adapter = new ChatAdapter();

  it('a marker split anywhere is never emitted, and the field text is the parsed value', () => {
    const completion = '[[ ## reasoning ## ]]\nTwo and two.\n\n[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]\n';
    for (let i = 0; i <= completion.length; i++) {
      for (let j = i; j <= completion.length; j += 7) {
        const deltas = run(new ChatFieldParser(OUTPUTS), completion, [i, j]);
        expect(deltas.some((d) => d.delta.includes('[[') || d.delta.includes('##'))).toBe(false);
        expect(summary(deltas)).toEqual({ order: ['reasoning', 'answer'], text: { reasoning: 'Two and two.', answer: '4' } });
      }
    }
  });

  it('keeps DSPy parse rules: text on the header line, first section wins, other sections end a field', () => {
    const completion = 'preamble\n[[ ## answer ## ]] inline   \n  more  \n[[ ## other ## ]]\nignored\n[[ ## answer ## ]]\nsecond\n[[ ## reasoning ## ]]\nwhy';
    const deltas = run(new ChatFieldParser(OUTPUTS), completion, []);
    expect(summary(deltas).text).toEqual({ answer: 'inline\n  more', reasoning: 'why' });
  });

  it('any chunking gives the parsed values and the same events', () => {
    fc.assert(
      fc.property(fieldText, fieldText, fc.constantFrom('\n', '\r\n', ' \n\n'), cuts, (reasoning, answer, gap, cut) => {
        const completion = `[[ ## reasoning ## ]]${gap}${reasoning}${gap}[[ ## answer ## ]]${gap}${answer}${gap}[[ ## completed ## ]]`;
        let parsed: Record<string, unknown>;
        try {
          parsed = adapter.parse(SIGNATURE, completion);
        } catch {
          return; // the text spelled a header of its own that left a field missing: the adapter refuses it too
        }
        const whole = summary(run(new ChatFieldParser(OUTPUTS), completion, []));
        const split = summary(run(new ChatFieldParser(OUTPUTS), completion, cut));
        expect(split).toEqual(whole);
        for (const field of OUTPUTS) expect(split.text[field] ?? '').toBe(parsed[field]);
      }),
      { numRuns: 500, verbose: 1 },
    );
  });
});

describe('JSONFieldParser', () => {
  const adapter = new JSONAdapter();
  const jsonText = fc.oneof(fieldText, fc.string({ unit: 'binary', maxLength: 10 }).filter(isWellFormed));

  it('unescapes split escapes and surrogate pairs, and never emits keys or quotes', () => {
    const completion = '```json\n{"reasoning": "a\\"b\\\\c\\n\\u00e9\\ud83d\\ude00", "answer": "4"}\n```';
    for (let i = 0; i <= completion.length; i++) {
      const deltas = run(new JSONFieldParser(OUTPUTS), completion, [i, i + 1, i + 3]);
      expect(deltas.every((d) => isWellFormed(d.delta))).toBe(true);
      expect(summary(deltas)).toEqual({ order: ['reasoning', 'answer'], text: { reasoning: 'a"b\\c\né😀', answer: '4' } });
    }
  });

  it('streams a non-string value as its JSON text', () => {
    const deltas = run(new JSONFieldParser(new Set(['answer', 'items'])), '{"items": [1, {"a": "]"}], "answer": 42}', [5, 14]);
    expect(summary(deltas).text).toEqual({ items: '[1, {"a": "]"}]', answer: '42' });
  });

  it('any chunking gives the parsed values and the same events', () => {
    fc.assert(
      fc.property(jsonText, jsonText, fc.boolean(), cuts, (reasoning, answer, pretty, cut) => {
        const completion = JSON.stringify({ reasoning, answer }, null, pretty ? 2 : undefined);
        const parsed = adapter.parse(SIGNATURE, completion);
        const whole = summary(run(new JSONFieldParser(OUTPUTS), completion, []));
        const split = summary(run(new JSONFieldParser(OUTPUTS), completion, cut));
        expect(split).toEqual(whole);
        for (const field of OUTPUTS) expect(split.text[field] ?? '').toBe(parsed[field]);
      }),
      { numRuns: 500, verbose: 1 },
    );
  });
});
