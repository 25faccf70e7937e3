// Python-backed optimizers on native programs: the program goes to the optimizer pool as DSPy JSON, real DSPy
// optimizes it with a TypeScript metric called back from Python, progress streams back, and the result is loaded
// natively. BootstrapFewShot in Python picks the same demos as the native one; MIPROv2 finds a better instruction.

import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BootstrapFewShot, ChainOfThought, NoPythonTwinError, Predict, PythonOptimizationError, withSettings, type Example, type Prediction } from 'dspex';
import { MIPROv2, PythonOptimizer, type PythonOptimizeProgress } from '../../src/index.js';
import { LOOPBACK_PYTHON_ENV, quietRuntime, startReadyPool } from '../../../dspex/test/evaluate_helpers.js';
import { dspyUnavailable, servicesRequired } from '../../../dspex/test/support/dspy_reference.js';
import { KeyedLM, TwoStep, arithmetic, demosOf } from '../../../dspex/test/teleprompt_helpers.js';
import { INSTRUCTION, startPromptServer } from '../../../dspex/test/teleprompt_server.js';

const unavailable = dspyUnavailable();
if (unavailable !== null && servicesRequired()) throw new Error(unavailable);
const withDspy = unavailable === null ? describe : describe.skip;

let rt: Runtime;
beforeEach(() => void (rt = quietRuntime()));
afterEach(async () => void (await rt.shutdown(10_000)));

const optimizerPool = () => startReadyPool(rt, { name: `optimizer-${Math.random().toString(36).slice(2, 8)}`, size: 1, callTimeoutMs: 120_000, python: { env: LOOPBACK_PYTHON_ENV } });

/** A TypeScript metric that records whether Python called it while bootstrapping (trace set) or evaluating. */
function recordingMetric() {
  const calls: Array<{ question: string; bootstrapping: boolean }> = [];
  const metric = (example: Example, prediction: Prediction, trace?: unknown): boolean => {
    calls.push({ question: String(example.get('question')), bootstrapping: trace !== null && trace !== undefined });
    return String(example.get('answer')) === String(prediction.get('answer'));
  };
  return { metric, calls };
}

withDspy('Python optimizers on native programs', () => {
  it('runs BootstrapFewShot in the optimizer pool with a TypeScript metric and loads the same demos the native one picks', async () => {
    const pool = await optimizerPool();
    const { answers, trainset } = arithmetic(12, (i) => i % 3 === 0);
    const { metric, calls } = recordingMetric();
    const student = new ChainOfThought('question -> answer');
    const seen: PythonOptimizeProgress[] = [];
    const run = new PythonOptimizer('BootstrapFewShot', { pool, metric, lm: { dummy: answers }, optimizerKwargs: { max_bootstrapped_demos: 3, max_labeled_demos: 6 }, onProgress: (e) => seen.push(e) }).run(student, { trainset });
    const iterated: PythonOptimizeProgress[] = [];
    for await (const event of run) iterated.push(event);
    const optimized = await run.result;

    expect(optimized).toBeInstanceOf(ChainOfThought);
    expect(optimized).not.toBe(student);
    expect(optimized._compiled).toBe(true);
    expect(student.predict.demos).toEqual([]); // the student itself is untouched
    const native = await withSettings({ lm: new KeyedLM(answers) }, () => new BootstrapFewShot({ metric, maxBootstrappedDemos: 3, maxLabeledDemos: 6 }).compile(new ChainOfThought('question -> answer'), { trainset }));
    expect(demosOf(optimized)).toEqual(demosOf(native));
    expect(optimized.predict.demos.filter((demo) => demo.get('augmented') === true)).toHaveLength(3);

    // The metric ran in Node, called from Python, once per bootstrapped example (questions 0..4: 3 successes).
    const fromPython = calls.slice(0, 5);
    expect(fromPython.map((c) => c.question)).toEqual([0, 1, 2, 3, 4].map((i) => `Q${i}: what is ${i} + ${i}?`));
    expect(fromPython.every((c) => c.bootstrapping)).toBe(true);
    expect(iterated).toEqual(seen);
    expect(iterated[0]).toEqual({ event: 'started', optimizer: 'BootstrapFewShot', trainset: 12 });
    expect(iterated.filter((e) => e.event === 'metric_calls').at(-1)).toEqual({ event: 'metric_calls', count: 5 });
    expect(iterated.at(-1)).toEqual({ event: 'finished' });
  }, 120_000);

  it('runs MIPROv2 with small settings and loads back the instruction it found', async () => {
    const server = await startPromptServer();
    try {
      const pool = await optimizerPool();
      const { trainset } = arithmetic(14, () => false);
      const { metric, calls } = recordingMetric();
      const student = new Predict('question -> answer');
      const before = student.signature.instructions;
      const run = MIPROv2({
        pool,
        metric,
        lm: { model: 'openai/fake', api_base: server.url, api_key: 'sk-test', cache: false, num_retries: 0 },
        optimizerKwargs: { auto: null, num_candidates: 2, max_bootstrapped_demos: 1, max_labeled_demos: 2, num_threads: 1, verbose: false },
        compileKwargs: { num_trials: 4, minibatch: false },
      }).run(student, { trainset: trainset.slice(0, 8), valset: trainset.slice(8) });
      const optimized = await run.result;
      expect(optimized.signature.instructions).toContain(INSTRUCTION);
      expect(before).not.toContain(INSTRUCTION);
      expect(student.signature.instructions).toBe(before);
      expect(run.progress.some((e) => e.event === 'evaluate' && e.score === 100)).toBe(true);
      expect(calls.some((c) => !c.bootstrapping)).toBe(true); // evaluations judged in Node too
      expect(server.requests()).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  }, 180_000);

  it('fails with typed errors: a program with no Python twin, and an optimizer Python refuses', async () => {
    const pool = await optimizerPool();
    const { trainset } = arithmetic(4, () => false);
    await expect(new PythonOptimizer('BootstrapFewShot', { pool }).compile(new TwoStep(), { trainset })).rejects.toBeInstanceOf(NoPythonTwinError);
    const failure = await new PythonOptimizer('os.system', { pool, lm: { dummy: [] } }).compile(new Predict('question -> answer'), { trainset }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PythonOptimizationError);
    expect(((failure as Error).cause as { pythonType?: string }).pythonType).toBe('NotAllowed');
  }, 60_000);
});
