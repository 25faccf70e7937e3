// Loads the golden files written by scripts/gen_golden.py (real DSPy) and rebuilds each case's signature the
// way DSPy built it: string signature, then the same field operations, custom types from custom_types.json.

import { readFileSync } from 'node:fs';
import { InputField, OutputField } from '../../src/signatures/field.js';
import { TypeRegistry, type JsonSchema } from '../../src/signatures/registry.js';
import { Signature } from '../../src/signatures/signature.js';
import type { JsonValue } from '../../src/utils/py_json.js';
import { pyFloatRepr } from '../../src/utils/py_json.js';
import type { LMMessage } from '../../src/primitives/lm.js';

export const GOLDEN_DIR = new URL('../golden/', import.meta.url);

export type Op =
  | { op: 'update'; name: string; desc?: string; prefix?: string; constraints?: string }
  | { op: 'prepend' | 'append'; name: string; role: 'input' | 'output'; desc?: string; prefix?: string; type?: string }
  | { op: 'insert'; index: number; name: string; role: 'input' | 'output'; desc?: string; prefix?: string; type?: string }
  | { op: 'delete'; name: string }
  | { op: 'with_instructions' | 'append_instructions'; text: string };

export interface ParseSample {
  completion: string;
  ok: boolean;
  result?: Record<string, JsonValue>;
  error?: string;
  raised?: string;
}

export interface GoldenCase {
  id: string;
  signature: string;
  instructions?: string;
  ops?: Op[];
  demos?: Record<string, JsonValue>[];
  inputs?: Record<string, JsonValue>;
  expected: {
    instructions: string;
    signature: string;
    fields: { name: string; role: 'input' | 'output'; annotation: string; prefix: string; desc: string; constraints?: string }[];
    chat: LMMessage[];
    json: LMMessage[];
    response_format: { name: string; schema: Record<string, JsonValue>; strict: boolean } | null;
  };
  parses: { chat: ParseSample[]; json: ParseSample[] };
}

export function readGolden<T>(name: string, dir: URL = GOLDEN_DIR): T {
  return JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as T;
}

export function goldenRegistry(dir: URL = GOLDEN_DIR): TypeRegistry {
  const registry = new TypeRegistry();
  for (const [name, schema] of Object.entries(readGolden<Record<string, JsonSchema>>('custom_types.json', dir))) registry.register(name, schema);
  return registry;
}

export function buildSignature(c: GoldenCase, registry: TypeRegistry): Signature {
  let sig = Signature.parse(c.signature, { registry, ...(c.instructions == null ? {} : { instructions: c.instructions }) });
  for (const op of c.ops ?? []) {
    switch (op.op) {
      case 'update':
        sig = sig.withUpdatedFields(op.name, { ...(op.desc === undefined ? {} : { desc: op.desc }), ...(op.prefix === undefined ? {} : { prefix: op.prefix }), ...(op.constraints === undefined ? {} : { constraints: op.constraints }) });
        break;
      case 'prepend':
      case 'append':
      case 'insert': {
        const options = { ...(op.desc === undefined ? {} : { desc: op.desc }), ...(op.prefix === undefined ? {} : { prefix: op.prefix }) };
        const field = op.role === 'input' ? InputField(options) : OutputField(options);
        if (op.op === 'insert') sig = sig.insert(op.index, op.name, field, op.type);
        else sig = sig[op.op](op.name, field, op.type);
        break;
      }
      case 'delete':
        sig = sig.delete(op.name);
        break;
      case 'with_instructions':
        sig = sig.withInstructions(op.text);
        break;
      case 'append_instructions':
        sig = sig.appendInstructions(op.text);
        break;
    }
  }
  return sig;
}

/** A parse result as gen_golden.py's jsonable() writes it: non-finite floats as Python's repr. */
export function jsonable(value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return pyFloatRepr(value);
  if (Array.isArray(value)) return value.map(jsonable);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonable(v)]));
  return value;
}

/** Sets come back from DSPy sorted; ours keep first-seen order. Sorts set-typed outputs for comparison. */
export function sortSets(result: Record<string, unknown>, sig: Signature): Record<string, unknown> {
  const out = { ...result };
  for (const field of sig.outputFields) {
    const value = out[field.name];
    if ((field.type.kind === 'set' || (field.type.kind === 'union' && field.type.members.some((m) => m.kind === 'set'))) && Array.isArray(value)) {
      out[field.name] = [...value].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    }
  }
  return out;
}

/**
 * DSPy's AdapterParseError text holds pydantic's error text verbatim; ours holds our validator's wording. The
 * parts around it (which field, which value, the response, the fields expected and found) must match exactly.
 */
export function errorFrame(message: string): { head: string; tail: string } {
  const marker = message.indexOf('Adapter ');
  const tail = marker >= 0 ? message.slice(marker) : message;
  const head = message.includes('Error message: ') ? message.slice(0, message.indexOf('Error message: ')) : message.includes('Failed to parse field ') ? message.slice(0, message.indexOf(': ', message.indexOf('Failed to parse field ') + 22) + 2) : message.slice(0, marker);
  return { head, tail };
}
