// BootstrapFewShot against real DSPy: the same program, trainset, metric and DummyLM-style answers give exactly
// the demos DSPy 3.4.1 picks (bootstrapped traces first, then labeled examples sampled with random.Random(0)),
// while the native run bootstraps examples concurrently as runtime tasks; and the seed alone decides the result.

import { describe, expect, it } from 'vitest';
import { withSettings } from '../src/program/settings.js';
import { BootstrapFewShot, BootstrapMaxErrorsError, type BootstrapFewShotOptions } from '../src/teleprompt/index.js';
import { dspyUnavailable, servicesRequired } from './support/dspy_reference.js';
import { KeyedLM, arithmetic, buildProgram, deferred, demosOf, dspyOptimize, exactMetric, type ProgramKind } from './teleprompt_helpers.js';

const unavailable = dspyUnavailable();
if (unavailable !== null && servicesRequired()) throw new Error(unavailable);
const withDspy = unavailable === null ? describe : describe.skip;

interface Case {
  name: string;
  program: ProgramKind;
  n: number;
  wrong: (i: number) => boolean;
  missing?: (i: number) => boolean;
  options?: { max_bootstrapped_demos?: number; max_labeled_demos?: number; max_rounds?: number; metric_threshold?: number; max_errors?: number };
  scored?: boolean;
}

const CASES: Case[] = [
  { name: 'Predict with the defaults (4 bootstrapped, 16 labeled)', program: 'predict', n: 24, wrong: (i) => [0, 1, 3, 4, 6].includes(i) },
  { name: 'ChainOfThought, 3 bootstrapped and 6 labeled', program: 'cot', n: 20, wrong: (i) => i % 3 === 0, options: { max_bootstrapped_demos: 3, max_labeled_demos: 6 } },
  { name: 'a two-predictor program with examples that fail to parse', program: 'two_step', n: 18, wrong: (i) => i === 1, missing: (i) => i === 0 || i === 3, options: { max_labeled_demos: 9 } },
  { name: 'fewer successes than wanted: the walk reaches the end', program: 'predict', n: 12, wrong: (i) => i !== 5 && i !== 9, options: { max_bootstrapped_demos: 4, max_labeled_demos: 8 } },
  { name: 'a numeric metric with metric_threshold and two rounds', program: 'cot', n: 16, wrong: (i) => i % 2 === 0, scored: true, options: { metric_threshold: 0.5, max_rounds: 2, max_labeled_demos: 10 } },
  { name: 'max_bootstrapped_demos 0: labeled demos only', program: 'predict', n: 30, wrong: () => false, options: { max_bootstrapped_demos: 0, max_labeled_demos: 7 } },
  { name: 'more labeled than remain: every unbootstrapped example, shuffled', program: 'two_step', n: 9, wrong: (i) => i < 2, options: { max_bootstrapped_demos: 2 } },
];

function nativeOptions(c: Case): BootstrapFewShotOptions {
  const o = c.options ?? {};
  const field = 'answer';
  return {
    metric: c.scored ? (example, prediction) => (String(example.get(field)) === String(prediction.get(field)) ? 1 : 0.25) : exactMetric(field),
    ...(o.max_bootstrapped_demos === undefined ? {} : { maxBootstrappedDemos: o.max_bootstrapped_demos }),
    ...(o.max_labeled_demos === undefined ? {} : { maxLabeledDemos: o.max_labeled_demos }),
    ...(o.max_rounds === undefined ? {} : { maxRounds: o.max_rounds }),
    ...(o.metric_threshold === undefined ? {} : { metricThreshold: o.metric_threshold }),
    ...(o.max_errors === undefined ? {} : { maxErrors: o.max_errors }),
  };
}

withDspy('BootstrapFewShot picks exactly the demos DSPy picks', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const { rows, answers, trainset } = arithmetic(c.n, c.wrong, c.missing);
      const reference = await dspyOptimize({
        optimizer: 'BootstrapFewShot',
        program: c.program,
        trainset: rows,
        input_keys: ['question'],
        answers,
        metric: { kind: c.scored ? 'scored' : 'exact', field: 'answer' },
        kwargs: c.options ?? {},
      });
      expect(reference.error).toBeUndefined();
      const lm = new KeyedLM(answers);
      const compiled = await withSettings({ lm }, () => new BootstrapFewShot({ ...nativeOptions(c), concurrency: 5 }).compile(buildProgram(c.program), { trainset }));
      expect(demosOf(compiled)).toEqual(reference.demos);
      expect(compiled._compiled).toBe(reference.compiled);
    }, 60_000);
  }

  it('fails at max_errors like DSPy, with the example error as the cause', async () => {
    const { rows, answers, trainset } = arithmetic(10, () => false, (i) => i < 6);
    const reference = await dspyOptimize({ optimizer: 'BootstrapFewShot', program: 'predict', trainset: rows, input_keys: ['question'], answers, metric: { kind: 'exact', field: 'answer' }, kwargs: { max_errors: 3 } });
    expect(reference.error).toBeDefined();
    const lm = new KeyedLM(answers);
    const failure = await withSettings({ lm }, () => new BootstrapFewShot({ metric: exactMetric('answer'), maxErrors: 3 }).compile(buildProgram('predict'), { trainset })).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(BootstrapMaxErrorsError);
    expect((failure as BootstrapMaxErrorsError).code).toBe('DSPEX_BOOTSTRAP_MAX_ERRORS');
    expect((failure as BootstrapMaxErrorsError).exampleIndex).toBe(2); // the third failure, as DSPy's sequential walk meets it
    expect((failure as Error).cause).toBeInstanceOf(Error);
  }, 60_000);
});

describe('BootstrapFewShot concurrency', () => {
  it('bootstraps examples concurrently and still accepts them in trainset order', async () => {
    const { answers, trainset } = arithmetic(16, (i) => i % 4 === 0);
    // Each LM call waits until `concurrency` calls are in flight: the run only finishes if they really overlap.
    const concurrency = 4;
    let barrier = deferred();
    const lm = new KeyedLM(answers, (inFlight) => {
      if (inFlight >= concurrency) {
        barrier.resolve();
        const passed = barrier;
        barrier = deferred();
        return passed.promise;
      }
      return barrier.promise;
    });
    const events: number[] = [];
    const concurrent = await withSettings({ lm }, () =>
      new BootstrapFewShot({ metric: exactMetric('answer'), maxBootstrappedDemos: 3, concurrency, onExample: ({ index }) => events.push(index) }).compile(buildProgram('predict'), { trainset }),
    );
    expect(lm.maxInFlight).toBe(concurrency);
    expect(events).toEqual([0, 1, 2, 3]); // the walk stops at the third success (examples 1, 2, 3)

    const sequentialLm = new KeyedLM(answers);
    const sequential = await withSettings({ lm: sequentialLm }, () => new BootstrapFewShot({ metric: exactMetric('answer'), maxBootstrappedDemos: 3, concurrency: 1 }).compile(buildProgram('predict'), { trainset }));
    expect(sequentialLm.maxInFlight).toBe(1);
    expect(demosOf(concurrent)).toEqual(demosOf(sequential));
    const [bootstrapped] = Object.values(demosOf(concurrent));
    expect(bootstrapped!.slice(0, 3).map((d) => (d as { question: string }).question)).toEqual([1, 2, 3].map((i) => `Q${i}: what is ${i} + ${i}?`));
  });

  it('is reproducible for a seed, whatever the concurrency, and the seed changes the labeled sample', async () => {
    const { answers, trainset } = arithmetic(40, (i) => i % 2 === 1);
    const run = (seed: number, concurrency: number) =>
      withSettings({ lm: new KeyedLM(answers) }, () => new BootstrapFewShot({ metric: exactMetric('answer'), seed, concurrency, maxLabeledDemos: 10 }).compile(buildProgram('cot'), { trainset }));
    const first = demosOf(await run(7, 8));
    expect(demosOf(await run(7, 1))).toEqual(first);
    expect(demosOf(await run(7, 3))).toEqual(first);
    expect(demosOf(await run(0, 8))).not.toEqual(first);
  });
});
