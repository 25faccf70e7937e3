// Random and grid search over a variable space improve a small program against a loopback LM that answers right
// only at temperature 0 with KEYWORD in the instructions: trials run concurrently, each is recorded in the store
// with progress events, the constraints prune the grid, and applyBest writes the winner into the space, after
// which the bound program answers right on its next call. On each store (SQLite, and PostgreSQL: required in CI).

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Runtime } from '@dspex/runtime';
import { Example, LM, Module, Predict, type CallOptions, type LMHandle, type Prediction } from 'dspex';
import { Variables, bind, defineSpace, variable, type VariableSpace } from '../../src/variables/index.js';
import { OptimizeConfigError, gridSearch, optimize, optimizeNamespace, randomSearch, type OptimizeProgress, type Sampler } from '../../src/optimize/index.js';
import { STORES } from '../sessions/backends.js';
import { KEYWORD, startScoringLM, type ScoringLM } from '../variables/scoring_lm.js';

class Echo extends Module<{ question: string }, { answer: string }> {
  qa = new Predict('question -> answer');
  override forward(inputs: { question: string }, options?: CallOptions): Promise<Prediction<{ answer: string }>> {
    return this.qa.call(inputs, options) as Promise<Prediction<{ answer: string }>>;
  }
}

const searchSpace = () =>
  defineSpace('search', {
    variables: {
      temperature: variable.float({ min: 0, max: 1, step: 0.5, default: 1 }),
      instructions: variable.text({ candidates: ['Answer.', `Answer ${KEYWORD}.`, 'Be brief.'] }),
    },
    constraints: [{ name: 'no-hot-brevity', check: (a) => !(a.temperature === 1 && a.instructions === 'Be brief.') }],
  });

const devset = ['apple', 'pear', 'plum'].map((w) => new Example({ question: `echo ${w}`, answer: w }).withInputs('question'));
const metric = (example: Example, prediction: Prediction) => prediction.get('answer') === example.get('answer');

for (const backend of STORES) describe.skipIf(!backend.available)(`search over variables on ${backend.name}`, () => {
  let server: ScoringLM;
  let rt: Runtime;
  let lm: LMHandle;
  let space: VariableSpace;
  beforeAll(async () => {
    server = await startScoringLM();
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    rt = new Runtime();
    lm = await LM.start(rt, { name: 'echo', model: 'openai/echo', apiBase: server.url, apiKey: 'unused', cache: { memory: false }, retries: 0 });
    const { store } = await backend.fresh();
    space = await (await Variables.start(rt, { store })).space(searchSpace());
    server.bodies.length = 0;
  });
  afterEach(async () => {
    await rt.shutdown();
    await backend.cleanup();
  });

  function boundEcho() {
    const program = new Echo();
    program.qa.lm = lm;
    return bind(space, program, { 'qa.config.temperature': 'temperature', 'qa.signature.instructions': 'instructions' });
  }

  async function score(program: Module): Promise<number> {
    let right = 0;
    for (const example of devset) if (metric(example, await program.call(example.inputs().toDict()))) right++;
    return right / devset.length;
  }

  for (const [name, sampler, trials, expected] of [
    ['random search', () => randomSearch({ seed: 7 }), 16, 16],
    ['grid search', () => gridSearch(), 100, 8],
  ] as Array<[string, () => Sampler, number, number]>) {
    it(`${name} finds the assignment that answers right, records its trials, and applyBest applies it`, async () => {
      const program = boundEcho();
      expect(await score(program)).toBe(0);
      const events: OptimizeProgress[] = [];
      let running = 0;
      let maxRunning = 0;
      const result = await optimize({
        caller: rt, space, program, devset, metric, sampler: sampler(), trials, concurrency: 3,
        onProgress: (event) => {
          events.push(event);
          running += event.type === 'trial_started' ? 1 : -1;
          maxRunning = Math.max(maxRunning, running);
        },
      });
      expect(result.trials).toHaveLength(expected); // grid: 9 combinations less the one the constraint refuses
      expect(result.trials.map((t) => t.number)).toEqual(Array.from({ length: expected }, (_, i) => i));
      expect(result.trials.every((t) => t.status === 'completed')).toBe(true);
      // Each trial measured its own LM calls though three ran at once: 3 calls of 10 + 5 tokens.
      expect(result.trials.map((t) => t.measures?.tokens)).toEqual(result.trials.map(() => 45));
      expect(result.trials.some((t) => t.assignment.temperature === 1 && t.assignment.instructions === 'Be brief.')).toBe(false);
      expect(result.best).toMatchObject({ score: 1, assignment: { temperature: 0, instructions: `Answer ${KEYWORD}.` } });
      expect(events.filter((e) => e.type === 'trial_finished')).toHaveLength(expected);
      expect(maxRunning).toBeGreaterThan(1); // trials ran concurrently
      expect(maxRunning).toBeLessThanOrEqual(3);

      const stored = await space.store.kv.list(optimizeNamespace('search'), { prefix: `${result.runId}/trial/` });
      expect(stored.map((e) => (e.value as { score: number }).score)).toEqual(result.trials.map((t) => t.score));
      expect((await space.store.kv.get(optimizeNamespace('search'), result.runId))?.value).toMatchObject({ sampler: result.sampler, trials: expected });
      expect((await space.get()).version).toBe(0); // searching never touched the space

      const applied = await result.applyBest({ expectedVersion: 0 });
      expect(applied.values).toEqual({ temperature: 0, instructions: `Answer ${KEYWORD}.` });
      expect((await space.history())[0]).toMatchObject({ by: `optimize:${result.sampler}`, metric: 1 });
      expect(await score(program)).toBe(1); // the bound program uses the applied values on its next call
    });
  }

  it('refuses options it cannot use before any trial runs', async () => {
    const program = boundEcho();
    await expect(optimize({ caller: rt, space, program, devset: [], metric })).rejects.toBeInstanceOf(OptimizeConfigError);
    await expect(optimize({ caller: rt, space, program, devset, metric, trials: 0 })).rejects.toMatchObject({ code: 'DSPEX_OPTIMIZE_CONFIG', field: 'trials' });
    expect(server.bodies.length).toBe(0);
  });
});
