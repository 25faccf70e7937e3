// Byte-for-byte compatibility with DSPy 3.4.1: for every golden case (written by scripts/gen_golden.py from real
// DSPy) the fields, the ChatAdapter and JSONAdapter messages, the structured-output schema and the parse results
// of sample completions must match what DSPy produced.

import { describe, expect, it } from 'vitest';
import { AdapterParseError } from '../../src/adapters/errors.js';
import { ChatAdapter } from '../../src/adapters/chat_adapter.js';
import { JSONAdapter } from '../../src/adapters/json_adapter.js';
import { compileSignature } from '../../src/signatures/compiler.js';
import { annotationName } from '../../src/signatures/types.js';
import { buildSignature, errorFrame, goldenRegistry, jsonable, readGolden, sortSets, type GoldenCase, type ParseSample } from './golden_support.js';
import type { Adapter } from '../../src/adapters/base.js';
import type { Signature } from '../../src/signatures/signature.js';

const golden = readGolden<{ dspy_version: string; cases: GoldenCase[] }>('cases.json');
const registry = goldenRegistry();
const adapters: Record<'chat' | 'json', Adapter> = { chat: new ChatAdapter(), json: new JSONAdapter() };

function checkParse(adapter: Adapter, sig: Signature, sample: ParseSample): void {
  if (sample.ok) {
    const parsed = adapter.parse(sig, sample.completion);
    expect(jsonable(sortSets(parsed, sig))).toEqual(sample.result);
    return;
  }
  let caught: unknown;
  try {
    adapter.parse(sig, sample.completion);
  } catch (error) {
    caught = error;
  }
  expect(caught, `DSPy failed on ${JSON.stringify(sample.completion)} with: ${sample.error}`).toBeInstanceOf(AdapterParseError);
  const ours = (caught as AdapterParseError).message;
  if (!sample.error!.includes('validation error')) expect(ours).toBe(sample.error);
  else expect(errorFrame(ours)).toEqual(errorFrame(sample.error!));
}

describe(`golden: DSPy ${golden.dspy_version}`, () => {
  it('covers at least 30 signatures', () => {
    expect(golden.cases.length).toBeGreaterThanOrEqual(30);
  });

  describe.each(golden.cases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const sig = buildSignature(c, registry);

    it('builds the same signature (instructions, fields, names, prefixes, descriptions)', () => {
      expect(sig.instructions).toBe(c.expected.instructions);
      expect(sig.signature).toBe(c.expected.signature);
      expect(sig.fields.map((f) => ({ name: f.name, role: f.role, annotation: annotationName(f.type), prefix: f.prefix, desc: f.desc, ...(f.constraints ? { constraints: f.constraints } : {}) }))).toEqual(c.expected.fields);
    });

    it('ChatAdapter.format produces the same messages', () => {
      expect(adapters.chat.format(sig, c.demos ?? [], c.inputs ?? {})).toEqual(c.expected.chat);
    });

    it('JSONAdapter.format produces the same messages', () => {
      expect(adapters.json.format(sig, c.demos ?? [], c.inputs ?? {})).toEqual(c.expected.json);
    });

    it('asks for the same structured output (or JSON mode for open mappings)', () => {
      const compiled = compileSignature(sig);
      if (c.expected.response_format === null) expect(compiled.hasOpenMapping).toBe(true);
      else expect(compiled.responseFormat()).toEqual(c.expected.response_format);
    });

    it.each(c.parses.chat.map((p, i) => [i, p] as const))('ChatAdapter.parse sample %i', (_i, sample) => checkParse(adapters.chat, sig, sample));
    it.each(c.parses.json.map((p, i) => [i, p] as const))('JSONAdapter.parse sample %i', (_i, sample) => checkParse(adapters.json, sig, sample));
  });
});
