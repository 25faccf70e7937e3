// save/load in DSPy's JSON format, checked against real DSPy 3.4.1 both ways: the files are byte-identical, a
// program saved by DSPy loads here and sends the prompts DSPy's adapters render for it, and a program saved
// here loads in DSPy and renders the same prompts there.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { JSONAdapter } from '../src/adapters/json_adapter.js';
import { Signature } from '../src/signatures/signature.js';
import { Example } from '../src/primitives/example.js';
import type { Module } from '../src/program/module.js';
import { withSettings } from '../src/program/settings.js';
import { StateMismatchError, StatePathError } from '../src/primitives/errors.js';
import { Predict } from '../src/predict/predict.js';
import { ChainOfThought } from '../src/predict/chain_of_thought.js';
import { ReAct } from '../src/predict/react.js';
import { Tool } from '../src/predict/tool.js';
import { DEPENDENCY_VERSIONS, stateToJson } from '../src/program/saving.js';
import { ScriptedLM } from './support/scripted_lm.js';
import { moduleWarnings } from './support/warnings.js';
import { dspy, dspyUnavailable, servicesRequired, type DspyMessage, type ProgramSpec } from './support/dspy_reference.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dspex-saving-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tools = [
  new Tool(({ city }: { city: string }) => `Sunny in ${city}`, { name: 'get_weather', desc: 'Get the weather for a city.', args: { city: { type: 'string' } } }),
  new Tool(({ a, b }: { a: number; b: number }) => a + b, { name: 'add', desc: 'Add two integers.', args: { a: { type: 'integer' }, b: { type: 'integer' } } }),
];

const SIGNATURE = 'question: str, context: list[str] -> answer: str, confidence: float';
const INSTRUCTIONS = 'Answer from the context.\n  Be brief: one sentence.';

/** The native twin of dspy_reference.py's build(). */
function build(spec: ProgramSpec): Module {
  const signature = Signature.parse(spec.signature, spec.instructions === undefined ? undefined : { instructions: spec.instructions });
  if (spec.kind === 'Predict') return new Predict(signature);
  if (spec.kind === 'ChainOfThought') return new ChainOfThought(signature);
  return new ReAct(signature, tools.filter((tool) => spec.tools?.some((name) => name === tool.name)));
}

const SPECS: ProgramSpec[] = [
  { kind: 'Predict', signature: SIGNATURE, instructions: INSTRUCTIONS },
  { kind: 'ChainOfThought', signature: 'question -> answer' },
  { kind: 'ReAct', signature: 'question -> answer', tools: ['get_weather', 'add'] },
];

/** Inputs for each predictor of a spec's program, keyed by predictor name. */
function inputsFor(spec: ProgramSpec): Record<string, Record<string, unknown>> {
  if (spec.kind === 'Predict') return { self: { question: 'Who wrote it?', context: ['A was written by B.', 'C by D.'] } };
  if (spec.kind === 'ChainOfThought') return { predict: { question: 'What is 2+2?' } };
  const trajectory = 'thought: look it up\nobservation: sunny';
  return { react: { question: 'Weather?', trajectory: '' }, 'extract.predict': { question: 'Weather?', trajectory } };
}

const DEMOS: Record<string, Record<string, Array<Record<string, unknown>>>> = {
  Predict: { self: [{ question: 'Who?', context: ['X by Y.'], answer: 'Y', confidence: 0.9 }, { question: 'Partial demo', answer: 'only an answer' }] },
  ChainOfThought: { predict: [{ question: '1+1?', reasoning: 'Add one and one.', answer: '2' }] },
  ReAct: { 'extract.predict': [{ question: 'q', trajectory: 't', reasoning: 'r', answer: 'a' }] },
};

/** The messages each predictor sends (through Predict.forward and the scripted LM), keyed as DSPy names them. */
async function nativeMessages(program: Module, spec: ProgramSpec, adapter: 'chat' | 'json'): Promise<Record<string, DspyMessage[]>> {
  const out: Record<string, DspyMessage[]> = {};
  for (const [name, predictor] of program.namedPredictors()) {
    const key = spec.kind === 'Predict' ? 'self' : name;
    const lm = new ScriptedLM(() => ({}));
    const send = (): Promise<unknown> => predictor.call(inputsFor(spec)[key]!, { lm }).catch(() => undefined);
    await (adapter === 'json' ? withSettings({ adapter: new JSONAdapter() }, send) : send());
    out[key] = lm.history[0]!.request.messages.map((m) => ({ role: m.role, content: m.content }));
  }
  return out;
}

function setDemos(program: Module, spec: ProgramSpec): void {
  for (const [name, predictor] of program.namedPredictors()) {
    const demos = DEMOS[spec.kind]![spec.kind === 'Predict' ? 'self' : name];
    if (demos) predictor.demos = demos.map((demo) => new Example(demo));
  }
}

describe('save/load without Python', () => {
  test('save() returns the state with metadata and writes orjson-shaped JSON; load() reads it back', async () => {
    const predict = new Predict('question -> answer');
    predict.demos = [new Example({ question: 'q', answer: 'a' })];
    const path = join(dir, 'predict.json');
    const state = await predict.save(path);
    expect(state.metadata).toEqual({ dependency_versions: { ...DEPENDENCY_VERSIONS } });
    expect(await readFile(path, 'utf8')).toBe(stateToJson(state));
    const loaded = await new Predict('question -> answer').load(path);
    expect(loaded.demos.map((demo) => demo.toDict())).toEqual([{ question: 'q', answer: 'a' }]);
    expect(loaded.demos[0]).toBeInstanceOf(Example);
  });

  test('only .json paths; a state for another program is refused and leaves the program untouched', async () => {
    await expect(new Predict('q -> a').save(join(dir, 'x.pkl'))).rejects.toBeInstanceOf(StatePathError);
    const cot = new ChainOfThought('question -> answer');
    cot.predict.demos = [new Example({ question: 'kept', answer: 'kept' })];
    const state = await new ReAct('question -> answer', []).save();
    await expect(cot.load(state)).rejects.toBeInstanceOf(StateMismatchError);
    expect(cot.predict.demos[0]!.question).toBe('kept');
  });

  test('a state saved by another DSPy version loads, with a version-mismatch warning naming it', async () => {
    const state = await new Predict('q -> a').save();
    state.metadata.dependency_versions['dspy'] = '3.0.0';
    const warned = moduleWarnings(['DSPEX_STATE_VERSION_MISMATCH']);
    await new Predict('q -> a').load(state);
    expect((await warned)[0]!.message).toContain('mismatch of dspy version between the saved program (3.0.0)');
  });

  test('an LM in the state is rebuilt by lmFromState, unsafe endpoint keys dropped; without it a warning says so', async () => {
    const state = { ...(await new Predict('q -> a').save()), lm: null } as Record<string, unknown>;
    state['lm'] = { model: 'openai/gpt-4o-mini', temperature: 0.5, api_base: 'http://attacker.example' };
    const seen: Record<string, unknown>[] = [];
    const lm = new ScriptedLM([]);
    const predict = await new Predict('q -> a').load(state, { lmFromState: (lmState) => (seen.push(lmState), lm) });
    expect(predict.lm).toBe(lm);
    expect(seen).toEqual([{ model: 'openai/gpt-4o-mini', temperature: 0.5 }]);
    const warned = moduleWarnings(['DSPEX_LM_STATE_NOT_RESTORED', 'DSPEX_STATE_VERSION_MISMATCH'], 1);
    const bare = await new Predict('q -> a').load(state);
    expect(bare.lm).toBeNull();
    expect((await warned).map((w) => w.code)).toEqual(['DSPEX_LM_STATE_NOT_RESTORED']);
  });
});

const unavailable = dspyUnavailable();
const describeDspy = unavailable && !servicesRequired() ? describe.skip : describe;
if (unavailable && !servicesRequired()) console.warn(`skipping save/load comparisons with DSPy: ${unavailable}`);

describeDspy('save/load against real DSPy 3.4.1', () => {
  test.each(SPECS)('a fresh and a demo-carrying $kind save to the same bytes as DSPy', async (spec) => {
    if (unavailable) throw new Error(unavailable);
    const program = build(spec);
    const path = join(dir, `fresh-${spec.kind}.json`);
    await program.save(path);
    expect(await readFile(path, 'utf8')).toBe((await dspy({ action: 'save', program: spec })).json);
    setDemos(program, spec);
    await program.save(path);
    expect(await readFile(path, 'utf8')).toBe((await dspy({ action: 'save', program: spec, demos: DEMOS[spec.kind] })).json);
  });

  test.each(SPECS)('a $kind saved by DSPy loads here and sends the prompts DSPy renders (chat and JSON)', async (spec) => {
    if (unavailable) throw new Error(unavailable);
    // An optimized-looking state: DSPy's own file, then edited instructions and prefixes, saved again by DSPy.
    const base = JSON.parse((await dspy({ action: 'save', program: spec, demos: DEMOS[spec.kind] })).json!) as Record<string, unknown>;
    for (const [key, value] of Object.entries(base)) {
      if (key === 'metadata') continue;
      const entry = (spec.kind === 'Predict' ? base : value) as { signature: { instructions: string; fields: Array<{ prefix: string; description: string }> } };
      entry.signature.instructions = `Optimized: ${entry.signature.instructions}`;
      entry.signature.fields[0]!.prefix = 'Rewritten Prefix:';
      entry.signature.fields[0]!.description = 'A description an optimizer wrote.';
      if (spec.kind === 'Predict') break;
    }
    const saved = (await dspy({ action: 'save', program: spec, state: base })).json!;
    const path = join(dir, `from-dspy-${spec.kind}.json`);
    await writeFile(path, saved, 'utf8');
    const program = await build(spec).load(path);
    expect(stateToJson(await program.save())).toBe(saved);
    for (const adapter of ['chat', 'json'] as const) {
      const reference = await dspy({ action: 'format', adapter, program: spec, state: JSON.parse(saved), inputs: inputsFor(spec) });
      expect(await nativeMessages(program, spec, adapter)).toEqual(reference.messages);
    }
  });

  test.each(SPECS)('a $kind saved here loads in DSPy, renders the same prompts there and re-saves to the same bytes', async (spec) => {
    if (unavailable) throw new Error(unavailable);
    const program = build(spec);
    setDemos(program, spec);
    for (const [, predictor] of program.namedPredictors()) {
      const first = predictor.signature.fields[0]!;
      predictor.signature = predictor.signature.withInstructions('Natively optimized instructions.').withUpdatedFields(first.name, { prefix: 'Native Prefix:', desc: 'Set in TypeScript.' });
    }
    const path = join(dir, `native-${spec.kind}.json`);
    await program.save(path);
    const text = await readFile(path, 'utf8');
    expect((await dspy({ action: 'save', program: spec, state: JSON.parse(text) })).json).toBe(text);
    for (const adapter of ['chat', 'json'] as const) {
      const reference = await dspy({ action: 'format', adapter, program: spec, state: JSON.parse(text), inputs: inputsFor(spec) });
      expect(await nativeMessages(program, spec, adapter)).toEqual(reference.messages);
    }
  });
});
