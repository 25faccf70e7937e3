// Optuna's TPE through the Python bridge improves a small program against a loopback LM whose answers depend on
// the variables (temperature near 0.7, a token budget, an instruction keyword): it finds the good region from a
// default that scores 0, is reproducible under a seed with several trials at once, returns a Pareto front over
// quality and cost, learns to stay out of what a constraint refuses, goes on past a program that throws, and
// rebuilds its study when the Python worker dies (or fails typed past maxRecoveries).

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PythonPool } from '@dspex/python-bridge';
import type { Runtime } from '@dspex/runtime';
import { Example, LM, Module, Predict, registerPrices, type CallOptions, type LMHandle, type Prediction } from 'dspex';
import { Variables, bind, defineSpace, variable, type CrossConstraint, type VariableSpace } from '../../src/variables/index.js';
import { OptimizeConfigError, OptimizeSamplerError, OptunaStudyLostError, dominates, optimize, optimizeNamespace, optunaTPE, type OptimizeOptions, type OptunaEvent, type OptunaTPEOptions } from '../../src/optimize/index.js';
import { sqliteStores } from '../variables/support.js';
import { KEYWORD, startTunableLM, type TunableLM } from './tunable_lm.js';
import { LOOPBACK_PYTHON_ENV, quietRuntime, startReadyPool } from '../../../dspex/test/evaluate_helpers.js';
import { dspyUnavailable, servicesRequired } from '../../../dspex/test/support/dspy_reference.js';

const unavailable = dspyUnavailable();
if (unavailable !== null && servicesRequired()) throw new Error(unavailable);
const withPython = unavailable === null ? describe : describe.skip;

const MODEL = 'openai/tunable';
const INSTRUCTIONS = ['Answer.', `Answer ${KEYWORD}.`, 'Be brief.', 'Explode.'];

/** Predict behind a guard: instructions saying "Explode." make the program throw, as a buggy program would. */
class Tunable extends Module<{ question: string }, { answer: string }> {
  qa = new Predict('question -> answer');
  override forward(inputs: { question: string }, options?: CallOptions): Promise<Prediction<{ answer: string }>> {
    if (this.qa.signature.instructions === 'Explode.') throw new Error('the program exploded');
    return this.qa.call(inputs, options) as Promise<Prediction<{ answer: string }>>;
  }
}

const tunableSpace = (constraints: CrossConstraint[] = []) =>
  defineSpace('tunable', {
    variables: {
      temperature: variable.float({ min: 0, max: 1, default: 0 }),
      maxTokens: variable.int({ min: 8, max: 512, log: true, default: 8 }),
      instructions: variable.text({ candidates: INSTRUCTIONS }),
    },
    constraints,
  });

const words = ['apple', 'pear', 'plum', 'fig', 'kiwi', 'lime', 'date', 'lemon', 'mango', 'peach'];
const devset = words.map((w, i) => new Example({ question: `echo ${w} ${i + 1}`, answer: w }).withInputs('question'));
const metric = (example: Example, prediction: Prediction) => prediction.get('answer') === example.get('answer');
async function score(program: Module): Promise<number> {
  let right = 0;
  for (const example of devset) if (metric(example, await program.call(example.inputs().toDict()))) right++;
  return right / devset.length;
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

withPython('optunaTPE over the Python bridge', () => {
  let server: TunableLM;
  let rt: Runtime;
  let pool: PythonPool;
  let lm: LMHandle;
  let space: VariableSpace;
  const stores = sqliteStores();
  beforeAll(async () => {
    server = await startTunableLM();
    registerPrices({ [MODEL]: { input: 1, output: 2 } }); // USD per million tokens
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    rt = quietRuntime();
    pool = await startReadyPool(rt, { name: `optuna-${Math.random().toString(36).slice(2, 8)}`, size: 1, python: { env: LOOPBACK_PYTHON_ENV } });
    lm = await LM.start(rt, { name: 'tunable', model: MODEL, apiBase: server.url, apiKey: 'unused', cache: { memory: false }, retries: 0 });
  });
  afterEach(async () => {
    await rt.shutdown(10_000);
    await stores.cleanup();
  });

  async function setup(constraints: CrossConstraint[] = []) {
    const { store } = await stores.fresh();
    space = await (await Variables.start(rt, { store })).space(tunableSpace(constraints));
    const program = new Tunable();
    program.qa.lm = lm;
    return bind(space, program, { 'qa.config.temperature': 'temperature', 'qa.config.max_tokens': 'maxTokens', 'qa.signature.instructions': 'instructions' });
  }

  async function search(options: Partial<OptimizeOptions> & { tpe?: Partial<OptunaTPEOptions> }) {
    const program = options.program ?? (await setup());
    const { tpe, ...rest } = options;
    return optimize({ caller: rt, space, program, devset, metric, sampler: optunaTPE({ pool, seed: 1, nStartupTrials: 8, ...tpe }), trials: 30, concurrency: 3, ...rest });
  }

  it('finds the good region from a default that scores 0, trials running concurrently, goes on past a program that throws, and applies the best', async () => {
    const program = await setup();
    expect(await score(program)).toBe(0); // the default assignment: temperature 0, 8 tokens, "Answer."
    let running = 0;
    let maxRunning = 0;
    const result = await search({
      program,
      onProgress: (event) => {
        running += event.type === 'trial_started' ? 1 : -1;
        maxRunning = Math.max(maxRunning, running);
      },
    });
    const scores = result.trials.map((t) => t.score ?? 0);
    expect(result.sampler).toBe('optuna-tpe');
    expect(result.trials.map((t) => t.number)).toEqual([...Array(30).keys()]);
    expect(maxRunning).toBe(3);
    expect(result.best!.score).toBeGreaterThanOrEqual(0.8);
    expect(mean(scores.slice(-10))).toBeGreaterThan(mean(scores.slice(0, 8)) + 0.2); // TPE beats its own random start
    for (const trial of result.trials.filter((t) => t.status === 'completed')) {
      // Every trial measured its own LM calls, though three ran at once: 10 calls of 10 + maxTokens tokens.
      const tokens = 10 * (10 + (trial.assignment.maxTokens as number));
      expect(trial.measures).toMatchObject({ quality: trial.score, tokens, unpriced: [] });
      expect(trial.measures!.cost).toBeCloseTo((100 + (tokens - 100) * 2) / 1e6, 12);
    }
    // A trial whose program throws is recorded as failed (told to Optuna as FAIL) and the run goes on.
    const failed = result.trials.filter((t) => t.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((t) => t.assignment.instructions === 'Explode.' && t.error === 'the program exploded')).toBe(true);
    const stored = await space.store.kv.get(optimizeNamespace('tunable'), `${result.runId}/trial/${String(failed[0]!.number).padStart(6, '0')}`);
    expect(stored?.value).toMatchObject({ status: 'failed', error: 'the program exploded' });

    await result.applyBest();
    expect(await score(program)).toBe(result.best!.score);
  });

  it('proposes the same trials again under the same seed, with three at once', async () => {
    const program = await setup();
    const sampler = optunaTPE({ pool, seed: 5, nStartupTrials: 4 });
    const run = async () => (await optimize({ caller: rt, space, program, devset: devset.slice(0, 3), metric, sampler, trials: 12, concurrency: 3 })).trials.map((t) => t.assignment);
    const first = await run();
    expect(await run()).toEqual(first); // the same sampler, closed after each run, starts a new study
    const other = await optimize({ caller: rt, space, program, devset: devset.slice(0, 3), metric, sampler: optunaTPE({ pool, seed: 6, nStartupTrials: 4 }), trials: 12, concurrency: 3 });
    expect(other.trials.map((t) => t.assignment)).not.toEqual(first);
    // reproducible: false tells trials as they finish and never holds a proposal back.
    const unordered = await optimize({ caller: rt, space, program, devset: devset.slice(0, 3), metric, sampler: optunaTPE({ pool, seed: 5, nStartupTrials: 4, reproducible: false }), trials: 12, concurrency: 3 });
    expect(unordered.trials.map((t) => t.number)).toEqual([...Array(12).keys()]);
  });

  it('optimizes quality up and cost down: a Pareto front, and the best by the first objective', async () => {
    const result = await search({ objectives: ['quality', 'cost'], trials: 30 });
    expect(result.objectives).toEqual(['quality', 'cost']);
    const completed = result.trials.filter((t) => t.status === 'completed');
    for (const trial of completed) expect(trial.values).toEqual([trial.score, trial.measures!.cost]);
    const objectives = [
      { name: 'quality', direction: 'maximize' as const, value: () => 0 },
      { name: 'cost', direction: 'minimize' as const, value: () => 0 },
    ];
    const front = result.paretoFront;
    expect(front.length).toBeGreaterThan(1);
    for (const trial of completed) {
      const onFront = front.includes(trial);
      // On the front exactly when no trial is better on one objective and no worse on the other.
      expect(completed.some((other) => dominates(objectives, other.values!, trial.values!))).toBe(!onFront);
    }
    // Along the front, more quality costs more.
    const byCost = [...front].sort((a, b) => a.values![1]! - b.values![1]!);
    for (let i = 1; i < byCost.length; i++) expect(byCost[i]!.values![0]).toBeGreaterThanOrEqual(byCost[i - 1]!.values![0]!);
    const top = Math.max(...completed.map((t) => t.score!));
    const cheapestTop = Math.min(...completed.filter((t) => t.score === top).map((t) => t.measures!.cost!));
    expect(result.best).toMatchObject({ score: top, measures: { cost: cheapestTop } });
    expect(front).toContain(result.best);
    // Another point of the front can be applied instead of the best.
    const cheapest = byCost[0]!;
    const applied = await result.applyBest({ trial: cheapest });
    expect(applied.values.maxTokens).toBe(cheapest.assignment.maxTokens);
  });

  it("tells each trial's constraint verdicts, so TPE stops proposing what they refuse, and never reports it as best", async () => {
    // Half of the temperature range is refused: a random proposal is infeasible one time in two.
    const refused: CrossConstraint = { name: 'warm', check: (a) => (a.temperature as number) >= 0.5 };
    const program = await setup([refused]);
    const result = await search({ program, trials: 40 });
    const infeasible = result.trials.map((t) => t.status === 'infeasible');
    expect(result.trials.filter((t) => t.status === 'completed').every((t) => refused.check(t.assignment) === true)).toBe(true);
    expect(refused.check(result.best!.assignment)).toBe(true);
    expect(result.best!.score).toBeGreaterThanOrEqual(0.8);
    expect(infeasible.slice(0, 15).filter(Boolean).length).toBeGreaterThan(4);
    expect(infeasible.slice(-15).filter(Boolean).length).toBeLessThan(infeasible.slice(0, 15).filter(Boolean).length / 2);
  });

  it('rebuilds the study on a live worker when its worker dies mid-run, and fails typed past maxRecoveries', async () => {
    const program = await setup();
    const events: OptunaEvent[] = [];
    const killAt = (finished: number) => {
      let killed = false;
      return async (event: { type: string; finished?: number }) => {
        if (killed || event.type !== 'trial_finished' || event.finished! < finished) return;
        killed = true;
        process.kill((await pool.stats()).workerOsPids[0]!, 'SIGKILL');
      };
    };
    const result = await search({ program, trials: 20, onProgress: killAt(8), tpe: { onEvent: (e) => events.push(e) } });
    expect(result.trials.map((t) => t.number)).toEqual([...Array(20).keys()]); // no trial lost
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'recovered', recoveries: 1 });
    expect((events[0] as { replayed: number }).replayed).toBeGreaterThanOrEqual(5); // 8 finished: at least 0..4 were told

    const error = await search({ program, trials: 20, onProgress: killAt(4), tpe: { maxRecoveries: 0 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OptimizeSamplerError);
    expect((error as OptimizeSamplerError).cause).toBeInstanceOf(OptunaStudyLostError);
    expect((error as OptimizeSamplerError).cause).toMatchObject({ code: 'DSPEX_OPTUNA_STUDY_LOST', recoveries: 0 });
    // The trials that finished before the study was lost are recorded.
    const stored = await space.store.kv.list(optimizeNamespace('tunable'), { prefix: `${(error as OptimizeSamplerError).runId}/trial/` });
    expect(stored.length).toBe((error as OptimizeSamplerError).trials);
    expect(stored.length).toBeGreaterThanOrEqual(4);
  });
});

describe('optunaTPE without a pool', () => {
  it('refuses at once and says how to get one', () => {
    expect(() => optunaTPE({} as OptunaTPEOptions)).toThrow(OptimizeConfigError);
    expect(() => optunaTPE({} as OptunaTPEOptions)).toThrow(/PythonPools\.start\(rt, \{ name: 'optimizer', size: 1 \}\)/);
  });
});
