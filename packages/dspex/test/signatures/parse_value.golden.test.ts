// DSPy's parse_value, cell by cell: each golden row is one (type, LM text) pair with what real DSPy produced
// (json_repair, then ast.literal_eval, then pydantic validation). Ours must give the same value or also fail.

import { describe, expect, it } from 'vitest';
import { ValueParseError } from '../../src/signatures/errors.js';
import { compileSignature } from '../../src/signatures/compiler.js';
import { Signature } from '../../src/signatures/signature.js';
import { goldenRegistry, jsonable, readGolden } from '../adapters/golden_support.js';

interface Row {
  type: string;
  text: string;
  ok: boolean;
  result?: unknown;
  error?: string;
}

const rows = readGolden<Row[]>('parse_values.json');
const registry = goldenRegistry();

function parse(row: Row): unknown {
  const compiled = compileSignature(Signature.parse(`x -> y: ${row.type}`, { registry }));
  const value = compiled.parseOutput('y', row.text);
  // DSPy returns sets as Python sets (the golden file sorts them); ours are arrays in first-seen order.
  return row.type.startsWith('set[') && Array.isArray(value) ? [...value].sort((a, b) => Number(a) - Number(b)) : value;
}

describe('parse_value matches DSPy', () => {
  it('has a full matrix', () => {
    expect(rows.length).toBeGreaterThan(1000);
  });

  it.each(rows.map((row) => [row.type, JSON.stringify(row.text), row] as const))('%s from %s', (_type, _text, row) => {
    if (row.ok) expect(jsonable(parse(row))).toEqual(row.result);
    else expect(() => parse(row)).toThrow(ValueParseError);
  });
});
