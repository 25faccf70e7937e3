// The pieces under the optimizers: Python's Mersenne Twister (seed, random, getrandbits, shuffle, sample, choice)
// bit-for-bit against CPython, LabeledFewShot against real DSPy, and BootstrapFewShot's rules that need no
// reference run: rounds after the first use rollout_id and temperature 1.0, a compiled teacher keeps its demos,
// teacherSettings reach the teacher, and the structural checks fail with typed errors.

import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Example } from '../src/primitives/example.js';
import { Module, type Inputs } from '../src/program/module.js';
import type { Prediction } from '../src/primitives/prediction.js';
import { withSettings } from '../src/program/settings.js';
import { Predict } from '../src/predict/predict.js';
import { BootstrapFewShot, LabeledFewShot, PyRandom, StudentCompiledError, TeacherMismatchError, TelepromptConfigError, metricAccepts } from '../src/teleprompt/index.js';
import { PYTHON, dspyUnavailable, servicesRequired } from './support/dspy_reference.js';
import { KeyedLM, TwoStep, arithmetic, buildProgram, demosOf, dspyOptimize, exactMetric } from './teleprompt_helpers.js';

const unavailable = dspyUnavailable();
if (unavailable !== null && servicesRequired()) throw new Error(unavailable);
const withPython = unavailable === null ? describe : describe.skip;

/** What CPython's random module gives for each [seed, n, k] case: random(), shuffle(range(n)), sample(range(n), k), choice. */
function cpython(cases: Array<[number | string, number, number]>): unknown[] {
  const script = `
import json, random, sys
out = []
for seed, n, k in json.load(sys.stdin):
    r = random.Random(seed)
    first = r.random()
    bits = r.getrandbits(17)
    items = list(range(n))
    random.Random(seed).shuffle(items)
    sample = r.sample(range(n), k)
    out.append([first, bits, items, sample, r.choice(items) if items else None])
print(json.dumps(out))`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(cases), encoding: 'utf8' })) as unknown[];
}

function native([seed, n, k]: [number | string, number, number]): unknown {
  const r = new PyRandom(seed);
  const first = r.random();
  const bits = r.getrandbits(17);
  const items = Array.from({ length: n }, (_, i) => i);
  new PyRandom(seed).shuffle(items);
  const sample = r.sample(Array.from({ length: n }, (_, i) => i), k);
  return [first, bits, items, sample, items.length > 0 ? r.choice(items) : null];
}

withPython('PyRandom is CPython random.Random', () => {
  it('matches CPython on random seeds, sizes and sample sizes (both of sample()\'s strategies)', () => {
    const arbCase = fc.tuple(fc.oneof(fc.nat({ max: 2 ** 40 }), fc.string({ maxLength: 12 })), fc.nat({ max: 300 })).chain(([seed, n]) => fc.tuple(fc.constant(seed), fc.constant(n), fc.nat({ max: n })));
    const cases = fc.sample(arbCase, { numRuns: 150, seed: 42 }) as Array<[number | string, number, number]>;
    cases.push([0, 30, 16], [0, 200, 40], ['', 5, 5], [2 ** 33 + 7, 1000, 100]);
    expect(cases.map(native)).toEqual(cpython(cases));
  });

  it('rejects what Python rejects', () => {
    expect(() => new PyRandom(0).sample([1, 2], 3)).toThrow(RangeError);
    expect(() => new PyRandom(0).choice([])).toThrow(RangeError);
    expect(() => new PyRandom(0.5)).toThrow(RangeError);
  });
});

withPython('LabeledFewShot picks what DSPy picks', () => {
  for (const [name, kwargs, sample] of [
    ['k=5 sampled, one rng shared by two predictors', { k: 5 }, true],
    ['the default k=16 from 24 examples', {}, true],
    ['sample=False takes the first k', { k: 4 }, false],
    ['k larger than the trainset', { k: 50 }, true],
  ] as const) {
    it(name, async () => {
      const { rows, answers, trainset } = arithmetic(24, () => false);
      const reference = await dspyOptimize({ optimizer: 'LabeledFewShot', program: 'two_step', trainset: rows, input_keys: ['question'], answers, kwargs, compile: { sample } });
      const compiled = await new LabeledFewShot(kwargs).compile(new TwoStep(), { trainset, sample });
      expect(demosOf(compiled)).toEqual(reference.demos);
      expect(compiled._compiled).toBe(false); // DSPy's LabeledFewShot does not mark the program compiled
    });
  }
});

describe('BootstrapFewShot rules', () => {
  it('retries an example in later rounds with rollout_id and temperature 1.0, and accepts the round that passes', async () => {
    const { answers, trainset } = arithmetic(3, () => false);
    const base = new KeyedLM(answers);
    // The LM is right only on the third round of each question.
    const lm = {
      model: 'rounds',
      defaults: { temperature: 0 },
      configs: [] as Array<Record<string, unknown>>,
      async call(request: Parameters<KeyedLM['call']>[0]) {
        this.configs.push({ ...(request.config ?? {}) });
        const response = await base.call(request);
        if (request.config?.['rollout_id'] !== 2) response.outputs = [{ text: '[[ ## answer ## ]]\nwrong', finishReason: 'stop' }];
        return response;
      },
    };
    const rounds: number[] = [];
    const compiled = await withSettings({ lm }, () =>
      new BootstrapFewShot({ metric: exactMetric('answer'), maxRounds: 3, maxBootstrappedDemos: 2, concurrency: 1, onExample: (e) => rounds.push(e.rounds) }).compile(buildProgram('predict'), { trainset }),
    );
    expect(rounds).toEqual([3, 3]);
    expect(lm.configs.slice(0, 3).map((c) => [c['rollout_id'], c['temperature']])).toEqual([[undefined, undefined], [1, 1], [2, 1]]);
    const demos = (compiled as Predict).demos.map((d) => d.toDict());
    expect(demos.slice(0, 2)).toEqual([0, 1].map((i) => ({ augmented: true, question: `Q${i}: what is ${i} + ${i}?`, answer: String(2 * i) })));
  });

  it('uses teacherSettings for the teacher, and keeps a compiled teacher\'s demos instead of labeling it', async () => {
    const { answers, trainset } = arithmetic(6, () => false);
    const teacherLm = new KeyedLM(answers);
    const compiled = await new BootstrapFewShot({ metric: exactMetric('answer'), teacherSettings: { lm: teacherLm }, maxBootstrappedDemos: 2, maxLabeledDemos: 2, concurrency: 1 }).compile(buildProgram('predict'), { trainset });
    expect(teacherLm.calls).toBe(2);
    expect((compiled as Predict).demos.map((d) => d.get('augmented'))).toEqual([true, true]);

    const teacher = new Predict('question -> answer');
    teacher.demos = [new Example({ question: 'Q99: what is 99 + 99?', answer: '198' })];
    teacher._compiled = true;
    const seen = new KeyedLM(answers);
    await withSettings({ lm: seen }, () => new BootstrapFewShot({ metric: exactMetric('answer'), maxBootstrappedDemos: 1, concurrency: 1 }).compile(buildProgram('predict'), { trainset, teacher }));
    // The teacher's own demo was in the prompt; an unlabeled teacher would have got trainset demos instead.
    expect(seen.calls).toBe(1);
    expect(seen.prompts[0]).toContain('Q99: what is 99 + 99?');
    expect(seen.prompts[0]).not.toContain('Q1: what is 1 + 1?');
  });

  it('refuses a compiled student, a teacher of another shape, and bad settings, with typed errors', async () => {
    const { trainset } = arithmetic(2, () => false);
    const compiledStudent = new Predict('question -> answer');
    compiledStudent._compiled = true;
    await expect(new BootstrapFewShot().compile(compiledStudent, { trainset })).rejects.toBeInstanceOf(StudentCompiledError);
    await expect(new BootstrapFewShot().compile(buildProgram('predict'), { trainset, teacher: new TwoStep() })).rejects.toBeInstanceOf(TeacherMismatchError);
    await expect(new BootstrapFewShot().compile(buildProgram('predict'), { trainset, teacher: new Predict('question -> other') })).rejects.toMatchObject({ code: 'DSPEX_TEACHER_MISMATCH' });
    expect(() => new BootstrapFewShot({ maxRounds: 0 })).toThrow(TelepromptConfigError);
    expect(() => new LabeledFewShot({ k: -1 })).toThrow(TelepromptConfigError);
  });

  it('keeps one demo per predictor per example when a predictor runs several times (DSPy\'s 50/50 rule), reproducibly', async () => {
    const { answers, trainset } = arithmetic(4, () => false);
    class Twice extends Module {
      qa = new Predict('question -> answer');
      override async forward(inputs: Inputs): Promise<Prediction> {
        await this.qa.call({ question: `${String(inputs['question'])} (draft)` });
        return this.qa.call(inputs);
      }
    }
    const run = () => withSettings({ lm: new KeyedLM(answers) }, () => new BootstrapFewShot({ metric: exactMetric('answer'), maxBootstrappedDemos: 2, maxLabeledDemos: 2 }).compile(new Twice(), { trainset }));
    const first = demosOf(await run());
    expect(first['qa']!.filter((d) => (d as { augmented?: boolean }).augmented === true)).toHaveLength(2);
    expect(demosOf(await run())).toEqual(first);
  });

  it('accepts metric values as DSPy does: a threshold when set (0 counts as unset), else truthiness', () => {
    expect(metricAccepts(0.5, 0.5)).toBe(true);
    expect(metricAccepts(0.4, 0.5)).toBe(false);
    expect(metricAccepts(0.1, 0)).toBe(true);
    expect(metricAccepts(0, null)).toBe(false);
    expect(metricAccepts(false, undefined)).toBe(false);
    expect(metricAccepts({ score: 0.2, feedback: 'meh' }, 0.5)).toBe(false);
  });
});
