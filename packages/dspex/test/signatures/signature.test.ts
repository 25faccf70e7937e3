// Signatures as DSPy defines them: string parsing of every supported type, errors with a stable code and a caret
// under the offending character, DSPy's defaults (instructions, "Snake Case:" prefixes, ${name} descs), the
// immutable operations ChainOfThought and optimizers use, the builder form, and the parse cache.

import { describe, expect, it } from 'vitest';
import { signatureBuilder } from '../../src/signatures/builder.js';
import { SignatureError } from '../../src/signatures/errors.js';
import { inferPrefix, InputField, OutputField } from '../../src/signatures/field.js';
import { TypeRegistry } from '../../src/signatures/registry.js';
import { ensureSignature, Signature } from '../../src/signatures/signature.js';
import { annotationName, t, typeEquals, type TypeExpr } from '../../src/signatures/types.js';

const registry = new TypeRegistry([{ name: 'Person', schema: { type: 'object', properties: { name: { type: 'string' } }, title: 'Person' } }]);

function typeOf(annotation: string): TypeExpr {
  return Signature.parseUncached(`x -> y: ${annotation}`, { registry }).outputFields[0]!.type;
}

function errorOf(text: string): SignatureError {
  try {
    Signature.parseUncached(text, { registry });
  } catch (error) {
    if (error instanceof SignatureError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('string signatures', () => {
  it('parses the example signature with types, in order, inputs before outputs', () => {
    const sig = Signature.parse('question: str, context: list[str] -> answer: str, confidence: float');
    expect(sig.inputFields.map((f) => [f.name, annotationName(f.type)])).toEqual([['question', 'str'], ['context', 'list[str]']]);
    expect(sig.outputFields.map((f) => [f.name, annotationName(f.type)])).toEqual([['answer', 'str'], ['confidence', 'float']]);
    expect(sig.instructions).toBe('Given the fields `question`, `context`, produce the fields `answer`, `confidence`.');
    expect(sig.signature).toBe('question, context -> answer, confidence');
  });

  it.each([
    ['str', t.str], ['int', t.int], ['float', t.float], ['bool', t.bool], ['Any', t.any],
    ['list[int]', t.list(t.int)], ['list', t.list(t.any, true)], ['List[str]', t.list(t.str)],
    ['dict[str, list[int]]', t.dict(t.str, t.list(t.int))], ['tuple[int, str]', t.tuple([t.int, t.str])], ['tuple[int, ...]', t.tuple([t.int], true)],
    ['tuple[()]', t.tuple([])], ['set[str]', t.set(t.str)], ['frozenset[int]', t.set(t.int, false, true)],
    ['Optional[int]', t.optional(t.int)], ['int | None', t.optional(t.int)], ['None | int', t.union([t.none, t.int])],
    ['Union[int, str]', t.union([t.int, t.str])], ['Union[int, Union[str, None]]', t.union([t.int, t.str, t.none])], ['Union[int]', t.int],
    ["Literal['a', 'b']", t.literal(['a', 'b'])], ['Literal["it\'s", 1, 2.5, True, None]', t.literal(["it's", 1, 2.5, true, null])],
    ['Person', t.custom('Person')], ['list[Person] | None', t.optional(t.list(t.custom('Person')))],
  ])('reads %s', (annotation, expected) => {
    expect(typeEquals(typeOf(annotation), expected)).toBe(true);
  });

  it('untyped fields are str, marked as such; "x: None" is str as in DSPy', () => {
    const sig = Signature.parse('a, b: None -> c');
    expect(sig.fields.map((f) => [f.name, f.type.kind, f.typeDeclared])).toEqual([['a', 'str', false], ['b', 'str', true], ['c', 'str', false]]);
  });

  it('accepts what DSPy accepts: no inputs, no outputs, trailing commas, newlines', () => {
    expect(Signature.parse('-> answer').inputFields).toEqual([]);
    expect(Signature.parse('question ->').outputFields).toEqual([]);
    expect(Signature.parse('a, -> b').signature).toBe('a -> b');
    expect(Signature.parse('a -> b\n, c').signature).toBe('a -> b, c');
  });

  it.each([
    ['question answer', 'DSPEX_SIGNATURE_ARROW', 15],
    ['a -> b -> c', 'DSPEX_SIGNATURE_ARROW', 7],
    ["a -> b: Literal['->']", 'DSPEX_SIGNATURE_ARROW', 17],
    ['a -> a', 'DSPEX_SIGNATURE_DUPLICATE_FIELD', 5],
    ['a, a -> b', 'DSPEX_SIGNATURE_DUPLICATE_FIELD', 3],
    ['1a -> b', 'DSPEX_SIGNATURE_BAD_IDENTIFIER', 0],
    ['a, class -> b', 'DSPEX_SIGNATURE_BAD_IDENTIFIER', 3],
    ['_private -> b', 'DSPEX_SIGNATURE_BAD_IDENTIFIER', 0],
    ['a -> b: Persona', 'DSPEX_SIGNATURE_UNKNOWN_TYPE', 8],
    ['a -> b: list[Foo]', 'DSPEX_SIGNATURE_UNKNOWN_TYPE', 13],
    ['a -> b: list[int, str]', 'DSPEX_SIGNATURE_TYPE_ARGUMENTS', 8],
    ['a -> b: Optional', 'DSPEX_SIGNATURE_TYPE_ARGUMENTS', 8],
    ['a -> b: int[str]', 'DSPEX_SIGNATURE_TYPE_ARGUMENTS', 8],
    ['a b -> c', 'DSPEX_SIGNATURE_SYNTAX', 2],
    ['a: int = 5 -> b', 'DSPEX_SIGNATURE_SYNTAX', 7],
    ['a -> b: list[int', 'DSPEX_SIGNATURE_SYNTAX', 16],
    ['a -> b: Literal[-1]', 'DSPEX_SIGNATURE_SYNTAX', 16],
    ['a -> b: tuple[..., int]', 'DSPEX_SIGNATURE_TYPE_ARGUMENTS', 14],
    ['a, , b -> c', 'DSPEX_SIGNATURE_SYNTAX', 3],
    ['a -> b:', 'DSPEX_SIGNATURE_SYNTAX', 7],
  ])('rejects %j with %s at %i', (text, code, position) => {
    const error = errorOf(text);
    expect(error.code).toBe(code);
    expect(error.position).toBe(position);
    expect(error.source).toBe(text);
  });

  it('shows the signature with a caret under the problem', () => {
    expect(errorOf('question: str, context: lst[str] -> answer').message).toBe(
      'unknown type "lst"; use str, int, float, bool, Any, list[T], dict[K, V], tuple[...], set[T], Optional[T], Union[...], Literal[...] or register it with registerType("lst", schema) (at position 24)\n' +
        '  question: str, context: lst[str] -> answer\n' +
        '                          ^',
    );
    expect(errorOf('a,\n\tb c -> d').message).toMatch(/\n {2}\tb c -> d\n {2}\t {2}\^$/);
  });

  it('prints a signature that parses back to an equal one', () => {
    const text = "q: Optional[list[Person]], r -> s: Literal['x', \"it's\"], u: tuple[int, ...], v: dict[str, set[int]] | None";
    const sig = Signature.parse(text, { registry });
    expect(Signature.parse(sig.toString(), { registry }).equals(sig)).toBe(true);
    expect(sig.toString()).toBe("q: Optional[list[Person]], r -> s: Literal['x', 'it\\'s'], u: tuple[int, ...], v: Optional[dict[str, set[int]]]");
  });
});

describe('DSPy defaults', () => {
  it.each([
    ['snake_case_text', 'Snake Case Text'], ['camelCaseText', 'Camel Case Text'], ['text2number', 'Text 2 Number'], ['HTMLParser', 'HTML Parser'],
    ['getHTTPResponse2XX', 'Get HTTP Response 2 XX'], ['__x', '  X'], ['A1b', 'A 1 B'], ['question', 'Question'],
  ])('infers the prefix of %s as %s', (name, prefix) => {
    expect(inferPrefix(name)).toBe(prefix);
  });

  it('fills prefix "Name:" and desc "${name}" unless given', () => {
    const sig = Signature.parse('user_query -> answer');
    expect(sig.inputFields[0]).toMatchObject({ prefix: 'User Query:', desc: '${user_query}' });
  });

  it('cleans instructions as inspect.cleandoc does', () => {
    expect(Signature.parse('a -> b', { instructions: '\n   Line one.\n     Indented.\n\n' }).instructions).toBe('Line one.\n  Indented.');
  });
});

describe('operations return new signatures and leave the original alone', () => {
  const base = Signature.parse('question -> answer', { instructions: 'Answer.' });

  it('prepend puts reasoning first among the outputs (ChainOfThought) and keeps the instructions', () => {
    const cot = base.prepend('reasoning', OutputField({ desc: '${reasoning}' }));
    expect(cot.signature).toBe('question -> reasoning, answer');
    expect(cot.outputFields[0]).toMatchObject({ name: 'reasoning', prefix: 'Reasoning:', type: { kind: 'str' } });
    expect(cot.instructions).toBe('Answer.');
    expect(base.signature).toBe('question -> answer');
    expect(Object.isFrozen(cot)).toBe(true);
  });

  it('append, insert (negative indexes count from the end), delete', () => {
    const sig = base.append('confidence', OutputField(), 'float').insert(0, 'context', InputField({ desc: 'facts' }), 'list[str]').insert(-1, 'notes', OutputField());
    expect(sig.signature).toBe('context, question -> answer, confidence, notes');
    expect(sig.field('context')).toMatchObject({ desc: 'facts', type: { kind: 'list' } });
    expect(sig.delete('answer').signature).toBe('context, question -> confidence, notes');
    expect(sig.delete('missing').equals(sig)).toBe(true);
    expect(() => base.insert(5, 'x', InputField())).toThrow(expect.objectContaining({ code: 'DSPEX_SIGNATURE_FIELD' }));
    expect(() => base.append('answer', OutputField())).toThrow(expect.objectContaining({ code: 'DSPEX_SIGNATURE_DUPLICATE_FIELD' }));
  });

  it('withInstructions, appendInstructions, withUpdatedFields', () => {
    expect(base.withInstructions('New.').instructions).toBe('New.');
    expect(base.appendInstructions('More.').instructions).toBe('Answer.\n\nMore.');
    const updated = base.withUpdatedFields('answer', { desc: 'one word', prefix: 'Final:', type: 'int' });
    expect(updated.field('answer')).toMatchObject({ desc: 'one word', prefix: 'Final:', type: { kind: 'int' }, typeDeclared: true });
    expect(base.field('answer')).toMatchObject({ desc: '${answer}', prefix: 'Answer:' });
    expect(() => base.withUpdatedFields('nope', { desc: 'x' })).toThrow(expect.objectContaining({ code: 'DSPEX_SIGNATURE_FIELD' }));
  });

  it('dumpState / loadState carry instructions, prefixes and descriptions (DSPy shapes)', () => {
    const tuned = base.withInstructions('Tuned.').withUpdatedFields('answer', { desc: 'short' });
    const state = tuned.dumpState();
    expect(state).toEqual({ instructions: 'Tuned.', fields: [{ prefix: 'Question:', description: '${question}' }, { prefix: 'Answer:', description: 'short' }] });
    expect(base.loadState(state).equals(tuned)).toBe(true);
  });
});

describe('builder form', () => {
  it('builds what the string form plus updates builds', () => {
    const built = signatureBuilder('Summarize.', registry)
      .input('document', { desc: 'The text.', prefix: 'Doc:' })
      .output('summary')
      .output('people', 'list[Person]')
      .output('score', { type: t.float, constraints: 'greater than: 0' })
      .build();
    const parsed = Signature.parse('document -> summary, people: list[Person], score: float', { instructions: 'Summarize.', registry })
      .withUpdatedFields('document', { desc: 'The text.', prefix: 'Doc:' })
      .withUpdatedFields('score', { constraints: 'greater than: 0' });
    expect(built.equals(parsed)).toBe(true);
  });

  it('rejects bad field names and repeated fields with typed errors', () => {
    expect(() => signatureBuilder().input('not a name').build()).toThrow(SignatureError);
    expect(() => signatureBuilder().input('a').output('a').build()).toThrow(expect.objectContaining({ code: 'DSPEX_SIGNATURE_DUPLICATE_FIELD' }));
  });
});

describe('cache', () => {
  it('returns the same object for the same text, and a distinct one per instructions', () => {
    const a = Signature.parse('cached_q -> cached_a');
    expect(Signature.parse('cached_q -> cached_a')).toBe(a);
    expect(Signature.parse('cached_q -> cached_a', { instructions: 'x' })).not.toBe(a);
    expect(ensureSignature('cached_q -> cached_a')).toBe(a);
    expect(ensureSignature(a)).toBe(a);
  });

  it('does not cache failures: each parse of a bad signature throws again', () => {
    expect(() => Signature.parse('bad sig')).toThrow(SignatureError);
    expect(() => Signature.parse('bad sig')).toThrow(SignatureError);
  });

  it('a custom type name cannot be rebound to another schema', () => {
    const own = new TypeRegistry();
    own.register('Thing', { type: 'object' });
    expect(own.register('Thing', { type: 'object' }).name).toBe('Thing');
    expect(() => own.register('Thing', { type: 'string' })).toThrow(expect.objectContaining({ code: 'DSPEX_SIGNATURE_TYPE_CONFLICT' }));
    expect(() => own.register('list', { type: 'string' })).toThrow(expect.objectContaining({ code: 'DSPEX_SIGNATURE_TYPE_CONFLICT' }));
  });
});
