// Bound programs on a loopback OpenAI-compatible server: after space.set, the next call's request carries the
// new temperature, instructions and demos (captured request bodies), the model, the adapter and the module kind
// (ModuleSlot), with nothing rebuilt by the user; bad paths and wrong kinds are refused when binding.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Runtime } from '@dspex/runtime';
import { ChainOfThought, LM, Module, Predict, type CallOptions, type LMHandle, type Prediction } from 'dspex';
import { ModuleSlot, Variables, VariableBindingError, bind, defineSpace, variable, type VariableSpace } from '../../src/variables/index.js';
import { sqliteStores } from './support.js';
import { KEYWORD, startScoringLM, type ScoringLM } from './scoring_lm.js';

class QA extends Module<{ question: string }, { answer: string }> {
  qa = new ChainOfThought('question -> answer');
  override forward(inputs: { question: string }, options?: CallOptions): Promise<Prediction<{ answer: string }>> {
    return this.qa.call(inputs, options) as Promise<Prediction<{ answer: string }>>;
  }
}

const space = () =>
  defineSpace('bound', {
    variables: {
      temperature: variable.float({ min: 0, max: 1, step: 0.1, default: 0.7 }),
      instructions: variable.text({ default: 'Answer the question.' }),
      demos: variable.demos(),
      model: variable.lm({ choices: ['small', 'large'] }),
      kind: variable.module({ choices: ['Predict', 'ChainOfThought'] }),
      adapter: variable.adapter(),
    },
  });

describe('bound programs', () => {
  let server: ScoringLM;
  let rt: Runtime;
  let small: LMHandle;
  let large: LMHandle;
  let vars: VariableSpace;
  const stores = sqliteStores();
  beforeAll(async () => {
    server = await startScoringLM();
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    rt = new Runtime();
    const options = { apiBase: server.url, apiKey: 'unused', cache: { memory: false }, retries: 0 } as const;
    small = await LM.start(rt, { name: 'small', model: 'openai/small-model', ...options });
    large = await LM.start(rt, { name: 'large', model: 'openai/large-model', ...options });
    const { store } = await stores.fresh();
    vars = await (await Variables.start(rt, { store })).space(space());
    server.bodies.length = 0;
  });
  afterEach(async () => {
    await rt.shutdown();
    await stores.cleanup();
  });

  it('a bound Predict sees the new temperature, instructions and demos on its next call', async () => {
    const program = new QA();
    program.qa.predict.lm = small;
    const bound = bind(vars, program, {
      'qa.predict.config.temperature': 'temperature',
      'qa.predict.signature.instructions': 'instructions',
      'qa.predict.demos': 'demos',
    });
    expect((await bound.call({ question: 'echo apple' })).answer).toBe('wrong');
    expect(server.bodies[0]!.temperature).toBe(0.7);
    expect(server.bodies[0]!.messages[0]!.content).toContain('Answer the question.');

    await vars.set({ temperature: 0, instructions: `Repeat the word ${KEYWORD}.`, demos: [{ question: 'echo demo', reasoning: 'r', answer: 'demo' }] });
    expect((await bound.call({ question: 'echo apple' })).answer).toBe('apple');
    const body = server.bodies[1]!;
    expect(body.temperature).toBe(0);
    expect(body.messages[0]!.content).toContain(`Repeat the word ${KEYWORD}.`);
    expect(body.messages.some((m) => m.role === 'user' && m.content.includes('echo demo'))).toBe(true);
    expect(body.messages.some((m) => m.role === 'assistant' && m.content.includes('demo'))).toBe(true);
  });

  it('switches the model, the adapter and the module kind of a ModuleSlot', async () => {
    const program = new (class extends Module {
      qa = new ModuleSlot('question -> answer', { config: { temperature: 0 } });
      override forward(inputs: { question: string }, options?: CallOptions) {
        return this.qa.call(inputs, options);
      }
    })();
    const bound = bind(vars, program, { 'qa.module': 'kind', 'qa.adapter': 'adapter', 'qa.lm': 'model', 'qa.predict.signature.instructions': 'instructions' }, { lms: { small, large } });
    await bound.call({ question: 'echo a' });
    expect(server.bodies[0]!.model).toBe('small-model');
    expect(server.bodies[0]!.messages[0]!.content).not.toContain('reasoning');
    expect(program.qa.inner).toBeInstanceOf(Predict);

    await vars.set({ kind: 'ChainOfThought', adapter: 'json', model: 'large', instructions: KEYWORD });
    const prediction = await bound.call({ question: 'echo b' });
    expect(prediction.answer).toBe('b');
    const body = server.bodies[1]!;
    expect(body.model).toBe('large-model');
    expect(body.messages[0]!.content).toContain('`reasoning`');
    expect(body.messages.some((m) => m.content.includes('Respond with a JSON object'))).toBe(true);
    expect(program.qa.inner).toBeInstanceOf(ChainOfThought);
    expect(program.qa.kind).toBe('ChainOfThought');
  });

  it('refuses a path that leads nowhere, a variable of the wrong kind, and an LM name it cannot map', () => {
    const program = new QA();
    expect(() => bind(vars, program, { 'qa.nope.config.temperature': 'temperature' })).toThrow(VariableBindingError);
    expect(() => bind(vars, program, { 'qa.predict.demos': 'temperature' })).toThrow(/takes a demos variable/);
    expect(() => bind(vars, program, { 'qa.module': 'kind' })).toThrow(/ModuleSlot/);
    expect(() => bind(vars, program, { 'qa.lm': 'model' }, { lms: { small } })).toThrow(/large/);
    expect(() => bind(vars, program, { 'qa.predict.whatever': 'temperature' })).toThrow(/ends in config/);
  });
});
