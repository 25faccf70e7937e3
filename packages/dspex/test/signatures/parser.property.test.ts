// Property tests of the signature parser (fast-check; the seed is printed on failure): it never throws anything
// but a SignatureError, whatever the text; and every signature it prints parses back to an equal signature.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SignatureError } from '../../src/signatures/errors.js';
import { InputField, OutputField } from '../../src/signatures/field.js';
import { TypeRegistry } from '../../src/signatures/registry.js';
import { Signature } from '../../src/signatures/signature.js';
import { t, typeSyntax, type LiteralValue, type TypeExpr } from '../../src/signatures/types.js';

const registry = new TypeRegistry([
  { name: 'Person', schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], title: 'Person' } },
  { name: 'Outer.Inner', schema: { type: 'object', properties: {}, title: 'Inner' } },
]);

const KEYWORDS = new Set(['False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield']);

const identifier = fc.stringMatching(/^[A-Za-z\u00e9][A-Za-z0-9_\u00e9]{0,9}$/).filter((name) => !KEYWORDS.has(name));

const literalValue: fc.Arbitrary<LiteralValue> = fc.oneof(
  fc.string({ maxLength: 6 }).filter((s) => !s.includes('->')),
  fc.nat({ max: 10_000 }),
  fc.constantFrom(0.5, 1.25, 1e-7, 3.0e21),
  fc.boolean(),
  fc.constant(null),
);

const typeArb: fc.Arbitrary<TypeExpr> = fc.letrec<{ type: TypeExpr; leaf: TypeExpr }>((tie) => ({
  leaf: fc.oneof(
    fc.constantFrom(t.str, t.int, t.float, t.bool, t.any, t.custom('Person'), t.custom('Outer.Inner'), t.list(t.any, true), t.dict(t.any, t.any, true), t.tuple([t.any], true, true), t.set(t.any, true)),
    fc.array(literalValue, { minLength: 1, maxLength: 4 }).map((values) => t.literal(values)),
  ),
  type: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    tie('type').map((item) => t.list(item)),
    tie('type').map((item) => t.set(item)),
    tie('type').map((item) => t.set(item, false, true)),
    fc.tuple(tie('type'), tie('type')).map(([k, v]) => t.dict(k, v)),
    fc.array(tie('type'), { maxLength: 3 }).map((items) => t.tuple(items)),
    tie('type').map((item) => t.tuple([item], true)),
    tie('type').map((inner) => t.optional(inner)),
    fc.array(fc.oneof(tie('type'), fc.constant(t.none)), { minLength: 2, maxLength: 4 }).map((members) => t.union(members)),
  ),
})).type.filter((type) => type.kind !== 'none');

const fieldArb = fc.record({ type: fc.option(typeArb, { nil: undefined }), input: fc.boolean() });

const signatureArb = fc.uniqueArray(fc.tuple(identifier, fieldArb), { selector: ([name]) => name, maxLength: 6 }).map((fields) =>
  Signature.fromFields(
    fields.map(([name, f]) => [name, f.input ? InputField(f.type === undefined ? {} : { type: f.type }) : OutputField(f.type === undefined ? {} : { type: f.type })] as const),
    { registry },
  ),
);

/** Signature-ish noise: the grammar's tokens in random order, so the parser is pushed past its first check. */
const tokenSoup = fc
  .array(fc.constantFrom('a', 'b_1', ':', ',', ' ', '->', '-', '>', 'list', 'dict', 'tuple', 'set', 'Optional', 'Union', 'Literal', 'Person', 'Outer.', 'int', 'str', 'None', '[', ']', '(', ')', '|', '...', "'", '"', '\\', '1', '.5', 'e', '\n', '\t', '=', 'class', '_x', 'é', '\u{1F600}'), { maxLength: 40 })
  .map((tokens) => tokens.join(''));

function parseOrSignatureError(text: string): void {
  try {
    Signature.parseUncached(text, { registry });
  } catch (error) {
    if (!(error instanceof SignatureError)) throw error;
    expect(typeof error.code).toBe('string');
    expect(error.position).toBeGreaterThanOrEqual(-1);
    expect(error.position).toBeLessThanOrEqual(text.length);
  }
}

describe('parser properties', () => {
  it('throws nothing but SignatureError on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), parseOrSignatureError), { numRuns: 3000 });
  });

  it('throws nothing but SignatureError on grammar-token soup', () => {
    fc.assert(fc.property(tokenSoup, parseOrSignatureError), { numRuns: 5000 });
  });

  it('throws nothing but SignatureError when a valid signature is cut or spliced', () => {
    fc.assert(
      fc.property(signatureArb, fc.nat(), fc.nat(), fc.string({ maxLength: 3 }), (sig, a, b, junk) => {
        const text = sig.toString();
        const [from, to] = [a % (text.length + 1), b % (text.length + 1)].sort((x, y) => x - y);
        parseOrSignatureError(text.slice(0, from!) + junk + text.slice(to!));
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips: print(parse(print(sig))) parses to a signature equal to sig', () => {
    fc.assert(
      fc.property(signatureArb, (sig) => {
        const printed = sig.toString();
        const reparsed = Signature.parseUncached(printed, { registry });
        expect(reparsed.equals(sig)).toBe(true);
        expect(reparsed.toString()).toBe(printed);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads alternative spellings (T | None, List, extra whitespace) to the same signature', () => {
    const respell = (type: TypeExpr): string => {
      if (type.kind === 'union' && type.members.length === 2 && type.members[1]!.kind === 'none') return `${respell(type.members[0]!)} | None`;
      if (type.kind === 'list' && !type.bare) return `List[ ${respell(type.item)} ]`;
      return typeSyntax(type);
    };
    fc.assert(
      fc.property(signatureArb, fc.constantFrom(' ', '  ', '\n', '\t'), (sig, space) => {
        const side = (fields: typeof sig.inputFields): string => fields.map((f) => (f.typeDeclared ? `${f.name}${space}:${space}${respell(f.type)}` : f.name)).join(`${space},${space}`);
        const text = `${space}${side(sig.inputFields)}${space}->${space}${side(sig.outputFields)}${space}`;
        expect(Signature.parseUncached(text, { registry }).equals(sig)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips through toJSON / fromJSON (how signatures reach worker threads)', () => {
    fc.assert(
      fc.property(signatureArb, (sig) => {
        expect(Signature.fromJSON(JSON.parse(JSON.stringify(sig.toJSON()))).equals(sig)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
