// bootstrapDemos over a `demos` variable, on each store, against a loopback LM that answers right only when the
// prompt carries demos: zero-shot scores 0; DSPy's BootstrapFewShotWithRandomSearch candidates (labeled only,
// bootstrapped in order, bootstrapped from shuffled trainsets) are evaluated as supervised, concurrent trials
// recorded in the store; applyBest writes the winning demos into the space and the bound program answers right.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Runtime } from '@dspex/runtime';
import { Example, LM, Module, Predict, type CallOptions, type LMHandle, type Prediction } from 'dspex';
import { Variables, bind, defineSpace, variable, type VariableSpace } from '../../src/variables/index.js';
import { OptimizeConfigError, OptimizeSamplerError, bootstrapDemos, optimize, optimizeNamespace, type OptimizeProgress } from '../../src/optimize/index.js';
import { STORES } from '../sessions/backends.js';
import { startTaskLM, type TaskLM } from './task_lm.js';

class Echo extends Module<{ question: string }, { answer: string }> {
  qa = new Predict('question -> answer');
  override forward(inputs: { question: string }, options?: CallOptions): Promise<Prediction<{ answer: string }>> {
    return this.qa.call(inputs, options) as Promise<Prediction<{ answer: string }>>;
  }
}

/** Two predictors under one module: a demos variable bound to both cannot be bootstrapped as one list. */
class Pair extends Module<{ question: string }, { answer: string }> {
  a = new Predict('question -> answer');
  b = new Predict('question -> answer');
  override forward(inputs: { question: string }, options?: CallOptions): Promise<Prediction<{ answer: string }>> {
    return this.a.call(inputs, options) as Promise<Prediction<{ answer: string }>>;
  }
}
class Twice extends Module<{ question: string }, { answer: string }> {
  both = new Pair();
  override forward(inputs: { question: string }, options?: CallOptions): Promise<Prediction<{ answer: string }>> {
    return this.both.call(inputs, options);
  }
}

const echo = (w: string) => new Example({ question: `echo ${w}`, answer: w }).withInputs('question');
const trainset = ['fig', 'kiwi', 'lime', 'date', 'pear', 'plum'].map(echo);
const devset = ['apple', 'grape', 'melon'].map(echo);
const metric = (example: Example, prediction: Prediction) => prediction.get('answer') === example.get('answer');
const fewShotSpace = () => defineSpace('fewshot', { variables: { demos: variable.demos() } });

let server: TaskLM;
beforeAll(async () => {
  // ChatAdapter puts each demo in a user/assistant pair before the question: more than system + user.
  server = await startTaskLM({ right: (prompt) => prompt.messages.length > 2 });
});
afterAll(() => server.close());

for (const backend of STORES) {
  describe.skipIf(!backend.available)(`bootstrapDemos on ${backend.name}`, () => {
    let rt: Runtime;
    let lm: LMHandle;
    let space: VariableSpace;
    beforeEach(async () => {
      rt = new Runtime();
      lm = await LM.start(rt, { name: 'echo', model: 'openai/echo', apiBase: server.url, apiKey: 'unused', cache: { memory: false }, retries: 0 });
      const { store } = await backend.fresh();
      space = await (await Variables.start(rt, { store })).space(fewShotSpace());
    });
    afterEach(async () => {
      await rt.shutdown();
      await backend.cleanup();
    });

    async function score(program: Module): Promise<number> {
      let right = 0;
      for (const example of devset) if (metric(example, await program.call(example.inputs().toDict()))) right++;
      return right / devset.length;
    }

    it('improves on zero-shot with bootstrapped demo sets evaluated as recorded trials, and applyBest writes the demos', async () => {
      const program = new Echo();
      program.qa.lm = lm;
      const bound = bind(space, program, { 'qa.demos': 'demos' });
      expect(await score(bound)).toBe(0);

      const events: OptimizeProgress[] = [];
      let running = 0;
      let maxRunning = 0;
      const result = await optimize({
        caller: rt, space, program: bound, devset, metric, trials: 10, concurrency: 3,
        sampler: bootstrapDemos({ trainset, maxBootstrappedDemos: 2, maxLabeledDemos: 2, candidateSets: 3 }),
        onProgress: (event) => {
          events.push(event);
          running += event.type === 'trial_started' ? 1 : -1;
          maxRunning = Math.max(maxRunning, running);
        },
      });

      const [zeroShot, ...withDemos] = result.trials;
      expect(zeroShot).toMatchObject({ number: 0, status: 'completed', score: 0, assignment: { demos: [] } });
      expect(withDemos.length).toBeGreaterThanOrEqual(3); // labeled only, bootstrapped in order, and shuffled seeds (duplicates skipped)
      expect(withDemos.every((t) => t.status === 'completed' && t.score === 1)).toBe(true);
      const demoSets = result.trials.map((t) => JSON.stringify(t.assignment.demos));
      expect(new Set(demoSets).size).toBe(demoSets.length);
      const bootstrapped = withDemos.filter((t) => (t.assignment.demos as Array<Record<string, unknown>>).some((d) => d.augmented === true));
      expect(bootstrapped.length).toBeGreaterThan(0); // the teacher's traces became demos
      for (const t of bootstrapped) {
        for (const demo of t.assignment.demos as Array<Record<string, unknown>>) expect(demo.answer).toBe(String(demo.question).replace('echo ', ''));
      }
      expect(result.best).toMatchObject({ number: 1, score: 1 });
      expect(result.sampler).toBe('bootstrap_demos');
      expect(events.filter((e) => e.type === 'trial_finished')).toHaveLength(result.trials.length);
      expect(maxRunning).toBeGreaterThan(1);

      const stored = await space.store.kv.list(optimizeNamespace('fewshot'), { prefix: `${result.runId}/trial/` });
      expect(stored.map((e) => e.value)).toEqual(result.trials);
      expect((await space.store.kv.get(optimizeNamespace('fewshot'), result.runId))?.value).toMatchObject({ sampler: 'bootstrap_demos', variables: ['demos'], trials: result.trials.length });
      expect((await space.get()).version).toBe(0);

      const applied = await result.applyBest();
      expect(applied.values.demos).toEqual(result.best!.assignment.demos);
      expect((await space.history())[0]).toMatchObject({ by: 'optimize:bootstrap_demos', metric: 1 });
      expect(await score(bound)).toBe(1);
    });

    it('refuses what it cannot bootstrap: no trainset, a demos variable bound to several predictors', async () => {
      expect(() => bootstrapDemos({ trainset: [] })).toThrow(OptimizeConfigError);
      const program = new Twice();
      program.both.a.lm = lm;
      program.both.b.lm = lm;
      const bound = bind(space, program, { 'both.demos': 'demos' });
      const error = await optimize({ caller: rt, space, program: bound, devset, metric, sampler: bootstrapDemos({ trainset }) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OptimizeSamplerError);
      expect((error as OptimizeSamplerError).cause).toBeInstanceOf(OptimizeConfigError);
      expect((error as Error).message).toMatch(/bound to 2 predictors/);
    });
  });
}
