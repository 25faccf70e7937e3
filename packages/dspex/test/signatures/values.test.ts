// The value layer under the adapters: JSON repair (json_repair's results on LM-style text), Python literal_eval,
// pydantic-style validation of inputs and outputs, the schemas handed to providers, and the Python renderings
// (float repr, json.dumps, cleandoc/dedent/splitlines) that DSPy's prompt bytes are made of.

import { describe, expect, it } from 'vitest';
import { compileSignature } from '../../src/signatures/compiler.js';
import { TypeRegistry } from '../../src/signatures/registry.js';
import { Signature } from '../../src/signatures/signature.js';
import { repairJson } from '../../src/utils/json_repair.js';
import { literalEval, LiteralEvalError } from '../../src/utils/py_literal.js';
import { PyFloat, pyFloatRepr, pyJsonDumps, pyRepr } from '../../src/utils/py_json.js';
import { cleandoc, dedent, pySplitlines, pyTitle } from '../../src/utils/py_text.js';

describe('repairJson (json_repair.loads results)', () => {
  it.each<[string, unknown]>([
    ['{"a": 1}', { a: 1 }],
    ['42 apples', ''],
    ['[1, 2] and more', [1, 2]],
    ['Sure! {"a": 1}', { a: 1 }],
    ['{"a": "it\'s"}', { a: "it's" }],
    ["{'a': 'x', 'b': [1, 2,], }", { a: 'x', b: [1, 2] }],
    ['{"a": 1, "b": }', { a: 1, b: '' }],
    ['{"a": tru}', { a: 'tru' }],
    ['{"a": "unterminated', { a: 'unterminated' }],
    ['{"a": 1 "b": 2}', { a: 1, b: 2 }],
    ["'single'", ''],
    ['[True, False, None]', [true, false, null]],
    ['// comment\n{"a": 1}', { a: 1 }],
    ['{"a": 1 /* c */}', { a: 1 }],
    ['text ```json\n{"x": 1}\n``` more', { x: 1 }],
    ['{"a": "line\nbreak"}', { a: 'line\nbreak' }],
    ['{"a": 01}', { a: 1 }],
    ['{"a": .5}', { a: 0.5 }],
    ['{"a": {"b": 1', { a: { b: 1 } }],
    ['{a: b}', { a: 'b' }],
    ['{"a": hello world}', { a: 'hello world' }],
    ['1,000', ''],
    ['{"a":1}{"b":2}', [{ a: 1 }, { b: 2 }]],
    ['[1][2]', [2]],
    ['{"a": \u201csmart\u201d}', { a: 'smart' }],
    ['[1, 2] [3]', [[1, 2], [3]]],
    ['"a": 1}', { a: 1 }],
    ['NaN', Number.NaN],
  ])('%j', (text, expected) => {
    expect(repairJson(text)).toEqual(expected);
  });
});

describe('literalEval (ast.literal_eval)', () => {
  it.each<[string, unknown]>([
    ['True', true], ['None', null], ["'single'", 'single'], ['"a" \'b\'', 'ab'], ['1_000', 1000], ['-2.5e3', -2500], ['0x1F', 31],
    ["('a', 1)", ['a', 1]], ['1, 2', [1, 2]], ["{'k': [1, (2, 3)]}", { k: [1, [2, 3]] }], ['{1, 2, 1}', [1, 2]], ['set()', []], ["'\\n\\x41'", '\nA'],
  ])('%s', (text, expected) => {
    expect(literalEval(text)).toEqual(expected);
  });

  it.each(['inf', 'foo', '1 +', '[1, 2', "'open", 'f(1)', '1j', '{[1]: 2}'])('rejects %j', (text) => {
    expect(() => literalEval(text)).toThrow(LiteralEvalError);
  });
});

describe('validation', () => {
  const registry = new TypeRegistry([{ name: 'Point', schema: { type: 'object', properties: { x: { type: 'integer' }, y: { type: 'integer', default: 0 } }, required: ['x'], title: 'Point' } }]);
  const compiled = compileSignature(Signature.parse('text: str, k: int, tags: list[str] -> point: Point, label: Optional[str], score: float', { registry }));

  it('coerces like pydantic lax mode and fills optional outputs', () => {
    expect(compiled.validateInputs({ text: 'hi', k: '3', tags: ['a'] })).toEqual({ ok: true, value: { text: 'hi', k: 3, tags: ['a'] } });
    expect(compiled.validateOutputs({ point: { x: '1', extra: true }, score: 2 })).toEqual({ ok: true, value: { point: { x: 1, y: 0 }, label: null, score: 2 } });
  });

  it('reports every problem with its path and pydantic\'s wording', () => {
    const result = compiled.validateInputs({ text: 5, tags: ['a', 7] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => [i.path.join('.'), i.type])).toEqual([['text', 'string_type'], ['k', 'missing'], ['tags.1', 'string_type']]);
    expect(result.message).toContain('Input should be a valid string [type=string_type, input_value=5, input_type=int]');
  });

  it('parseOutput follows DSPy\'s parse_value and throws ValueParseError with pydantic\'s message shape', () => {
    expect(compiled.parseOutput('point', "{'x': 4}")).toEqual({ x: 4, y: 0 });
    expect(compiled.parseOutput('score', ' 0.25 ')).toBe(0.25);
    expect(() => compiled.parseOutput('score', 'high')).toThrow(
      '1 validation error for float\n  Input should be a valid number, unable to parse string as a number [type=float_parsing, input_value=\'high\', input_type=str]',
    );
  });
});

describe('schemas for providers', () => {
  const compiled = compileSignature(Signature.parse('q -> answer: str, n: Optional[int], kind: Literal["a", "b"]', { instructions: 'Do it.' }));

  it('OpenAI strict response_format: every property required, closed, None defaults dropped', () => {
    expect(compiled.openAIResponseFormat()).toEqual({
      type: 'json_schema',
      json_schema: {
        name: 'DSPyProgramOutputs',
        strict: true,
        schema: {
          additionalProperties: false,
          properties: {
            answer: { title: 'Answer', type: 'string' },
            n: { anyOf: [{ type: 'integer' }, { type: 'null' }], title: 'N' },
            kind: { enum: ['a', 'b'], title: 'Kind', type: 'string' },
          },
          required: ['answer', 'n', 'kind'],
          title: 'DSPyProgramOutputs',
          type: 'object',
        },
      },
    });
  });

  it('OpenAI function and Anthropic tool carry the outputs schema and the instructions', () => {
    expect(compiled.openAIFunction('answer_question')).toMatchObject({ type: 'function', function: { name: 'answer_question', description: 'Do it.', strict: true, parameters: { required: ['answer', 'n', 'kind'] } } });
    expect(compiled.anthropicTool()).toMatchObject({ name: 'DSPyProgramOutputs', description: 'Do it.', input_schema: { type: 'object', additionalProperties: false } });
  });
});

describe('Python renderings', () => {
  it.each<[number, string]>([[0.5, '0.5'], [1, '1.0'], [1e16, '1e+16'], [1.5e-5, '1.5e-05'], [0.0001, '0.0001'], [123456789.123, '123456789.123'], [-0, '-0.0'], [Infinity, 'inf']])('float repr of %d is %s', (value, text) => {
    expect(pyFloatRepr(value)).toBe(text);
  });

  it('json.dumps separators, indent, floats and escapes', () => {
    expect(pyJsonDumps({ a: [1, new PyFloat(2)], 'é': 'x"\n\u0001' })).toBe('{"a": [1, 2.0], "é": "x\\"\\n\\u0001"}');
    expect(pyJsonDumps({ a: [], b: {}, c: [1] }, 2)).toBe('{\n  "a": [],\n  "b": {},\n  "c": [\n    1\n  ]\n}');
    expect(pyRepr([1, "it's", true, null, { k: 'v' }])).toBe('[1, "it\'s", True, None, {\'k\': \'v\'}]');
  });

  it('cleandoc, dedent, splitlines and title behave as in Python', () => {
    expect(cleandoc('  First.\n\t  Tab.\n    More.\n\n')).toBe('First.\n      Tab.\nMore.');
    expect(dedent('  a\n  \n    b')).toBe('a\n\n  b');
    expect(pySplitlines('a\r\nb\rc\u2028d\n')).toEqual(['a', 'b', 'c', 'd']);
    expect(pyTitle('final_answer2x')).toBe('Final_Answer2X');
  });
});
