// Predict and ChainOfThought against the scripted LM: the prompts they send (the adapter's own rendering),
// LM choice, config merging and DSPy's n > 1 temperature rule, demos, completions, traces and warnings.

import { afterEach, describe, expect, test } from 'vitest';
import { ChatAdapter } from '../src/adapters/chat_adapter.js';
import { JSONAdapter } from '../src/adapters/json_adapter.js';
import { AdapterParseError } from '../src/adapters/errors.js';
import { Signature } from '../src/signatures/signature.js';
import { Example } from '../src/primitives/example.js';
import { configure, resetSettings, withSettings, type TraceEntry } from '../src/program/settings.js';
import { NoLMConfiguredError } from '../src/primitives/errors.js';
import { Predict, applyTemperatureRule } from '../src/predict/predict.js';
import { ChainOfThought } from '../src/predict/chain_of_thought.js';
import { ScriptedLM } from './support/scripted_lm.js';
import { moduleWarnings } from './support/warnings.js';

afterEach(() => resetSettings());

describe('Predict', () => {
  test('sends exactly the messages the adapter formats and parses the reply into a Prediction', async () => {
    const lm = new ScriptedLM([{ answer: 'Paris' }]);
    const predict = new Predict('question -> answer');
    const prediction = await predict.call({ question: 'Capital of France?' }, { lm });
    expect(prediction.answer).toBe('Paris');
    expect(prediction.completions!.length).toBe(1);
    expect(lm.messages()).toEqual(new ChatAdapter().format(predict.signature, [], { question: 'Capital of France?' }));
  });

  test('the LM is chosen per call, then the module, then settings; none is a typed error', async () => {
    const global = new ScriptedLM(() => ({ answer: 'global' }));
    const moduleLm = new ScriptedLM(() => ({ answer: 'module' }));
    const callLm = new ScriptedLM(() => ({ answer: 'call' }));
    const predict = new Predict('question -> answer');
    await expect(predict.call({ question: 'q' })).rejects.toBeInstanceOf(NoLMConfiguredError);
    await expect(predict.call({ question: 'q' })).rejects.toMatchObject({ code: 'DSPEX_NO_LM' });
    configure({ lm: global });
    expect((await predict.call({ question: 'q' })).answer).toBe('global');
    const local = new ScriptedLM(() => ({ answer: 'context' }));
    expect((await withSettings({ lm: local }, () => predict.call({ question: 'q' }))).answer).toBe('context');
    predict.lm = moduleLm;
    expect((await predict.call({ question: 'q' })).answer).toBe('module');
    expect((await predict.call({ question: 'q' }, { lm: callLm })).answer).toBe('call');
  });

  test('per-call config is merged over the module config', async () => {
    const lm = new ScriptedLM(() => ({ answer: 'x' }));
    const predict = new Predict('question -> answer', { temperature: 0.3, max_tokens: 50, rollout_id: 1 });
    await predict.call({ question: 'q' }, { lm, config: { rollout_id: 2, top_p: 0.9 } });
    expect(lm.history[0]!.request.config).toEqual({ temperature: 0.3, max_tokens: 50, rollout_id: 2, top_p: 0.9 });
    predict.updateConfig({ max_tokens: 60 });
    expect(predict.getConfig()).toEqual({ temperature: 0.3, max_tokens: 60, rollout_id: 1 });
  });

  test.each([
    // [call config, LM defaults, temperature sent]: the outputs of DSPy 3.4.1's Predict._forward_preprocess for these
    // inputs (Python's `config.temperature or defaults.temperature` chain, so 0 falls through to the LM default).
    [{ n: 3 }, {}, 0.7],
    [{ n: 3, temperature: 0.1 }, {}, 0.7],
    [{ n: 3, temperature: 0.15 }, {}, 0.7],
    [{ n: 3, temperature: 0.5 }, {}, 0.5],
    [{ n: 3, temperature: 0 }, { temperature: 1 }, 0],
    [{ n: 3, temperature: 0 }, {}, 0.7],
    [{ temperature: 0 }, { n: 2 }, 0.7],
    [{}, { num_generations: 4, temperature: 0.2 }, undefined],
    [{}, { num_generations: 4, temperature: 0.1 }, 0.7],
    [{}, { n: 5, temperature: 0.9 }, undefined],
    [{ n: 1 }, {}, undefined],
  ])('n > 1 temperature rule: config %j over defaults %j sends temperature %s', (config, defaults, expected) => {
    expect(applyTemperatureRule(config, defaults).temperature).toBe(expected);
  });

  test('n > 1 asks for n completions at temperature 0.7 and keeps them all', async () => {
    let i = 0;
    const lm = new ScriptedLM(() => ({ answer: `a${++i}` }), { defaults: { temperature: 0 } });
    const prediction = await new Predict('question -> answer').call({ question: 'q' }, { lm, config: { n: 3 } });
    expect(lm.history[0]!.request.config).toMatchObject({ n: 3, temperature: 0.7 });
    expect(prediction.answer).toBe('a1');
    expect(prediction.completions!.field('answer')).toEqual(['a1', 'a2', 'a3']);
  });

  test('demos (module or per call) become user/assistant turns as the adapter formats them', async () => {
    const lm = new ScriptedLM(() => ({ answer: 'x' }));
    const predict = new Predict('question -> answer');
    predict.demos = [new Example({ question: '1+1?', answer: '2' })];
    await predict.call({ question: '2+2?' }, { lm });
    expect(lm.messages()).toEqual(new ChatAdapter().format(predict.signature, [{ question: '1+1?', answer: '2' }], { question: '2+2?' }));
    expect(lm.messages()).toHaveLength(4);
    await predict.call({ question: '2+2?' }, { lm, demos: [] });
    expect(lm.messages()).toHaveLength(2);
  });

  test('a per-call signature replaces the module one for that call only', async () => {
    const lm = new ScriptedLM([{ summary: 's' }, { answer: 'a' }]);
    const predict = new Predict('question -> answer');
    const prediction = await predict.call({ question: 'q' }, { lm, signature: 'question -> summary' });
    expect(prediction.toDict()).toEqual({ summary: 's' });
    expect((await predict.call({ question: 'q' }, { lm })).toDict()).toEqual({ answer: 'a' });
  });

  test('the adapter comes from settings: JSONAdapter prompts and replies', async () => {
    const lm = new ScriptedLM([{ answer: 'json answer' }], { format: 'json' });
    const predict = new Predict('question -> answer');
    const prediction = await withSettings({ adapter: new JSONAdapter() }, () => predict.call({ question: 'q' }, { lm }));
    expect(prediction.answer).toBe('json answer');
    expect(lm.messages()).toEqual(new JSONAdapter().format(predict.signature, [], { question: 'q' }));
  });

  test('an unparseable reply falls back to JSONAdapter and then rejects with AdapterParseError', async () => {
    const lm = new ScriptedLM(['no sections here', 'still not json']);
    await expect(new Predict('question -> answer').call({ question: 'q' }, { lm })).rejects.toBeInstanceOf(AdapterParseError);
    expect(lm.history).toHaveLength(2);
  });

  test('traces record (predictor, inputs, prediction) only when a trace is open, bounded by maxTraceSize', async () => {
    const lm = new ScriptedLM(() => ({ answer: 'x' }));
    const predict = new Predict('question -> answer');
    await predict.call({ question: 'untraced' }, { lm });
    const trace: TraceEntry[] = [];
    await withSettings({ trace, maxTraceSize: 2 }, async () => {
      for (const question of ['q1', 'q2', 'q3']) await predict.call({ question }, { lm });
    });
    expect(trace.map((entry) => entry.inputs)).toEqual([{ question: 'q2' }, { question: 'q3' }]);
    expect(trace[0]!.predictor).toBe(predict);
    expect((trace[1]!.prediction as { answer: string }).answer).toBe('x');
  });

  test('input defaults fill in; extra and missing inputs warn with DSPy wording', async () => {
    const lm = new ScriptedLM(() => ({ answer: 'x' }));
    const signature = Signature.parse('question, context -> answer');
    const warned = moduleWarnings(['DSPEX_INPUT_EXTRA_FIELDS', 'DSPEX_INPUT_MISSING_FIELDS']);
    // @ts-expect-error: a stray input on purpose (a compile error for a typed signature; the runtime warns)
    await new Predict(signature).call({ question: 'q', stray: 1 }, { lm });
    const warnings = await warned;
    expect(warnings.map((w) => w.code).sort()).toEqual(['DSPEX_INPUT_EXTRA_FIELDS', 'DSPEX_INPUT_MISSING_FIELDS']);
    expect(warnings.find((w) => w.code === 'DSPEX_INPUT_MISSING_FIELDS')!.message).toBe(
      'Not all input fields were provided to module. Present: ["question"]. Missing: ["context"].',
    );
  });

  test('reset clears LM, demos, traces and train', () => {
    const predict = new Predict('question -> answer');
    predict.lm = new ScriptedLM([]);
    predict.demos = [new Example({ question: 'q', answer: 'a' })];
    predict.train = [1];
    predict.reset();
    expect([predict.lm, predict.demos, predict.train, predict.traces]).toEqual([null, [], [], []]);
    expect(predict.toString()).toBe('Predict(question -> answer)');
  });
});

describe('ChainOfThought', () => {
  test('prepends a `reasoning` output (prefix "Reasoning:", desc "${reasoning}") and delegates to `predict`', async () => {
    const cot = new ChainOfThought('question -> answer', { config: { temperature: 0.2 } });
    const reasoning = cot.predict.signature.outputFields[0]!;
    expect([reasoning.name, reasoning.prefix, reasoning.desc]).toEqual(['reasoning', 'Reasoning:', '${reasoning}']);
    expect(cot.predict.signature.outputFields.map((f) => f.name)).toEqual(['reasoning', 'answer']);
    expect(cot.namedPredictors().map(([name]) => name)).toEqual(['predict']);
    const lm = new ScriptedLM([{ reasoning: 'France has Paris.', answer: 'Paris' }]);
    const prediction = await cot.call({ question: 'Capital of France?' }, { lm });
    expect(prediction.toDict()).toEqual({ reasoning: 'France has Paris.', answer: 'Paris' });
    expect(lm.history[0]!.request.config).toEqual({ temperature: 0.2 });
    expect(lm.messages()).toEqual(new ChatAdapter().format(cot.predict.signature, [], { question: 'Capital of France?' }));
  });

  test('a custom rationale field and type', () => {
    const cot = new ChainOfThought('question -> answer', { rationaleFieldType: 'list[str]' });
    expect(cot.predict.signature.outputFields[0]!.type).toEqual({ kind: 'list', item: { kind: 'str' }, bare: false });
  });
});
