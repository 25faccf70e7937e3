// proposeInstructions over a text variable bound to instructions: DSPy's GroundedProposer runs in a Python pool
// with a dspy.LM pointed at the same loopback endpoint as the native LM client; the loopback answers the
// proposer's prompts with candidate instructions and the task right only when the system prompt holds PHRASE.
// The candidates are evaluated as trials, the one with PHRASE wins, and applyBest writes it into the space.

import type { PythonPool } from '@dspex/python-bridge';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Runtime } from '@dspex/runtime';
import { Example, LM, Module, Predict, type CallOptions, type LMHandle, type Prediction } from 'dspex';
import { Variables, bind, defineSpace, variable, type VariableSpace } from '../../src/variables/index.js';
import { OptimizeConfigError, OptimizeSamplerError, optimize, optimizeNamespace, proposeInstructions, type OptimizeProgress } from '../../src/optimize/index.js';
import { LOOPBACK_PYTHON_ENV, quietRuntime, startReadyPool } from '../../../dspex/test/evaluate_helpers.js';
import { dspyUnavailable, servicesRequired } from '../../../dspex/test/support/dspy_reference.js';
import { sqliteStores } from '../variables/support.js';
import { startTaskLM, type TaskLM } from './task_lm.js';

const unavailable = dspyUnavailable();
if (unavailable !== null && servicesRequired()) throw new Error(unavailable);
const withDspy = unavailable === null ? describe : describe.skip;

const PHRASE = 'repeat the word that follows echo';
const PROPOSALS = ['Answer the question briefly.', `Please ${PHRASE}, exactly.`, 'Think before answering.'];
const CURRENT = 'Answer the question.';

class Echo extends Module<{ question: string }, { answer: string }> {
  qa = new Predict('question -> answer');
  override forward(inputs: { question: string }, options?: CallOptions): Promise<Prediction<{ answer: string }>> {
    return this.qa.call(inputs, options) as Promise<Prediction<{ answer: string }>>;
  }
}

const echo = (w: string) => new Example({ question: `echo ${w}`, answer: w }).withInputs('question');
const devset = ['apple', 'grape', 'melon'].map(echo);
const trainset = ['fig', 'kiwi', 'lime'].map(echo);
const metric = (example: Example, prediction: Prediction) => prediction.get('answer') === example.get('answer');

withDspy('proposeInstructions (DSPy GroundedProposer in Python)', () => {
  let server: TaskLM;
  let rt: Runtime;
  let lm: LMHandle;
  let pool: PythonPool;
  let space: VariableSpace;
  const stores = sqliteStores();
  beforeAll(async () => {
    server = await startTaskLM({ right: (prompt) => prompt.system.includes(PHRASE), proposals: PROPOSALS });
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    rt = quietRuntime();
    lm = await LM.start(rt, { name: 'echo', model: 'openai/echo', apiBase: server.url, apiKey: 'unused', cache: { memory: false }, retries: 0 });
    pool = await startReadyPool(rt, { name: `propose-${Math.random().toString(36).slice(2, 8)}`, size: 1, callTimeoutMs: 120_000, python: { env: LOOPBACK_PYTHON_ENV } });
    const { store } = await stores.fresh();
    space = await (await Variables.start(rt, { store })).space(defineSpace('instructed', { variables: { instructions: variable.text({ default: CURRENT }) } }));
    server.prompts.length = 0;
  });
  afterEach(async () => {
    await rt.shutdown(10_000);
    await stores.cleanup();
  });

  function boundEcho() {
    const program = new Echo();
    program.qa.lm = lm;
    return bind(space, program, { 'qa.signature.instructions': 'instructions' });
  }

  async function score(program: Module): Promise<number> {
    let right = 0;
    for (const example of devset) if (metric(example, await program.call(example.inputs().toDict()))) right++;
    return right / devset.length;
  }

  it('evaluates the proposals as trials, finds the instruction that answers right, and applyBest writes it', async () => {
    const program = boundEcho();
    expect(await score(program)).toBe(0);
    const events: OptimizeProgress[] = [];
    const result = await optimize({
      caller: rt, space, program, devset, metric, trials: 10, concurrency: 2,
      sampler: proposeInstructions({ pool, candidates: 3, trainset, proposerKwargs: { view_data_batch_size: 3 } }),
      onProgress: (event) => events.push(event),
    });

    // DSPy proposed with the native client's endpoint (no lm option: the predictor's LM client), data-aware.
    const proposerPrompts = server.proposerPrompts();
    expect(proposerPrompts).toHaveLength(3);
    for (const prompt of proposerPrompts) {
      expect(prompt.system).toContain('`basic_instruction`');
      expect(prompt.system).toContain('`dataset_description`');
      expect(prompt.messages.at(-1)!.content).toContain(CURRENT);
    }
    // The current instructions, then the three proposals, each a trial.
    expect(result.trials.map((t) => t.assignment.instructions)).toEqual([CURRENT, ...PROPOSALS]);
    expect(result.trials.map((t) => t.score)).toEqual([0, 0, 1, 0]);
    expect(result.best).toMatchObject({ number: 2, score: 1, assignment: { instructions: PROPOSALS[1] } });
    expect(result.sampler).toBe('propose_instructions');
    expect(events.filter((e) => e.type === 'trial_finished')).toHaveLength(4);
    const stored = await space.store.kv.list(optimizeNamespace('instructed'), { prefix: `${result.runId}/trial/` });
    expect(stored.map((e) => e.value)).toEqual(result.trials);

    const applied = await result.applyBest();
    expect(applied.values.instructions).toBe(PROPOSALS[1]);
    expect((await space.history())[0]).toMatchObject({ by: 'optimize:propose_instructions', metric: 1 });
    expect(await score(program)).toBe(1);
  }, 120_000);

  it('fails the run with OptimizeSamplerError when Python refuses the proposal, before any trial', async () => {
    const program = boundEcho();
    const error = await optimize({ caller: rt, space, program, devset, metric, sampler: proposeInstructions({ pool, proposerKwargs: { verbose: true } }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OptimizeSamplerError);
    expect(error).toMatchObject({ code: 'DSPEX_OPTIMIZE_SAMPLER', trials: 0 });
    expect(String((error as Error).message)).toMatch(/verbose/);
    expect(server.prompts).toHaveLength(0);
    expect(() => proposeInstructions({ pool, candidates: 0 })).toThrow(OptimizeConfigError);
  }, 60_000);
});
