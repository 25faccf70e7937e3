// Failing trials, on each store: a trial whose program throws or whose metric throws is recorded in the store as
// failed with its error, counted in progress, and ignored by best while the run goes on; when every trial fails
// applyBest rejects with OptimizeNoBestError; a sampler that fails ends the run with OptimizeSamplerError once
// the trials already running are recorded.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Runtime } from '@dspex/runtime';
import { Example, Module, Predict, type CallOptions, type LM, type LMRequest, type LMResponse, type Prediction } from 'dspex';
import { Variables, bind, defineSpace, variable, type VariableSpace } from '../../src/variables/index.js';
import { OptimizeNoBestError, OptimizeSamplerError, gridSearch, optimize, optimizeNamespace, type OptimizeProgress, type Sampler, type Trial } from '../../src/optimize/index.js';
import { quietRuntime } from '../../../dspex/test/evaluate_helpers.js';
import { STORES } from '../sessions/backends.js';

/** Answers with the `mode` its request's config carries (what the bound variable set). */
class ModeLM implements LM {
  readonly model = 'test/mode';
  readonly defaults = {};
  async call(request: LMRequest): Promise<LMResponse> {
    const mode = String((request.config as Record<string, unknown> | undefined)?.mode);
    return { outputs: [{ text: `[[ ## answer ## ]]\n${mode}\n\n[[ ## completed ## ]]` }], usage: {}, model: this.model } as unknown as LMResponse;
  }
}

/** Throws before calling the LM in mode "program-throws". */
class Flaky extends Module<{ question: string }, { answer: string }> {
  qa = new Predict('question -> answer');
  override forward(inputs: { question: string }, options?: CallOptions): Promise<Prediction<{ answer: string }>> {
    if (this.qa.config.mode === 'program-throws') throw new Error('the program exploded');
    return this.qa.call(inputs, options) as Promise<Prediction<{ answer: string }>>;
  }
}

const devset = ['a', 'b'].map((q) => new Example({ question: q, answer: 'good' }).withInputs('question'));
const metric = (example: Example, prediction: Prediction): boolean => {
  if (prediction.get('answer') === 'metric-throws') throw new Error('the metric exploded');
  return prediction.get('answer') === example.get('answer');
};

for (const backend of STORES) {
  describe.skipIf(!backend.available)(`failing trials on ${backend.name}`, () => {
    let rt: Runtime;
    beforeEach(() => void (rt = quietRuntime())); // the failing trials' crash reports are expected
    afterEach(async () => {
      await rt.shutdown();
      await backend.cleanup();
    });

    async function setup(choices: string[]): Promise<{ space: VariableSpace; program: ReturnType<typeof bind> }> {
      const { store } = await backend.fresh();
      const space = await (await Variables.start(rt, { store })).space(defineSpace('flaky', { variables: { mode: variable.choice({ choices }) } }));
      const flaky = new Flaky();
      flaky.qa.lm = new ModeLM();
      return { space, program: bind(space, flaky, { 'qa.config.mode': 'mode' }) };
    }

    const stored = async (space: VariableSpace, runId: string): Promise<Trial[]> =>
      (await space.store.kv.list(optimizeNamespace(space.name), { prefix: `${runId}/trial/` })).map((e) => e.value as unknown as Trial);

    it('records a throwing program or metric as a failed trial with its error, counts it, and best ignores it', async () => {
      const { space, program } = await setup(['program-throws', 'bad', 'metric-throws', 'good', 'program-throws-too']);
      const finished: Array<Extract<OptimizeProgress, { type: 'trial_finished' }>> = [];
      const result = await optimize({
        caller: rt, space, program, devset, metric, sampler: gridSearch(), concurrency: 2,
        onProgress: (e) => e.type === 'trial_finished' && finished.push(e),
      });
      expect(result.trials.map((t) => [t.assignment.mode, t.status, t.score])).toEqual([
        ['program-throws', 'failed', null],
        ['bad', 'completed', 0],
        ['metric-throws', 'failed', null],
        ['good', 'completed', 1],
        ['program-throws-too', 'completed', 0], // only the exact mode throws: the run went on past the failures
      ]);
      expect(result.trials[0]!.error).toBe('the program exploded');
      expect(result.trials[2]!.error).toBe('the metric exploded');
      expect(result.best).toMatchObject({ number: 3, score: 1 });
      expect(finished.map((e) => e.finished)).toEqual([1, 2, 3, 4, 5]);
      expect(finished.filter((e) => e.trial.status === 'failed')).toHaveLength(2);
      expect(finished.every((e) => e.best === null || e.best.status === 'completed')).toBe(true);
      const trials = await stored(space, result.runId);
      expect(trials.filter((t) => t.status === 'failed').map((t) => t.error)).toEqual(['the program exploded', 'the metric exploded']);
      expect((await result.applyBest()).values.mode).toBe('good');
    });

    it('when every trial fails, best is null and applyBest rejects with OptimizeNoBestError, writing nothing', async () => {
      const { space, program } = await setup(['program-throws', 'metric-throws']);
      const result = await optimize({ caller: rt, space, program, devset, metric, sampler: gridSearch() });
      expect(result.trials.map((t) => t.status)).toEqual(['failed', 'failed']);
      expect(result.best).toBeNull();
      expect((await space.store.kv.get(optimizeNamespace('flaky'), result.runId))?.value).toMatchObject({ trials: 2, best: null });
      const error = await result.applyBest().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OptimizeNoBestError);
      expect(error).toMatchObject({ code: 'DSPEX_OPTIMIZE_NO_BEST', runId: result.runId });
      expect(await space.history()).toEqual([]);
    });

    it('a sampler that throws ends the run with OptimizeSamplerError after the running trials are recorded', async () => {
      const { space, program } = await setup(['good', 'bad']);
      let asks = 0;
      const failing: Sampler = {
        name: 'failing',
        ask: () => {
          if (asks++ === 1) throw new Error('no more ideas');
          return { mode: 'good' };
        },
      };
      const error = await optimize({ caller: rt, space, program, devset, metric, sampler: failing, concurrency: 1, runId: 'run-1' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OptimizeSamplerError);
      expect(error).toMatchObject({ code: 'DSPEX_OPTIMIZE_SAMPLER', runId: 'run-1', sampler: 'failing', trials: 1 });
      expect(((error as Error).cause as Error).message).toBe('no more ideas');
      expect((await stored(space, 'run-1')).map((t) => [t.status, t.score])).toEqual([['completed', 1]]);
      expect((await space.store.kv.get(optimizeNamespace('flaky'), 'run-1'))?.value).toMatchObject({ trials: 1, samplerError: 'no more ideas' });
    });
  });
}
