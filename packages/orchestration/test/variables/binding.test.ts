// Bound programs on a loopback OpenAI-compatible server: after space.set, the next call's request carries the
// new temperature, instructions and demos (captured request bodies), the model, the adapter and the module kind
// (ModuleSlot), with nothing rebuilt by the user; a call sees one version in all its steps while updates land
// (an in-process LM that holds requests); bad paths and wrong kinds are refused when binding.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Runtime } from '@dspex/runtime';
import fc from 'fast-check';
import { ChainOfThought, LM, Module, Predict, type CallOptions, type LMHandle, type LMRequest, type LMResponse, type Prediction } from 'dspex';
import { ModuleSlot, Variables, VariableBindingError, bind, defineSpace, variable, type VariableSpace } from '../../src/variables/index.js';
import { sqliteStores } from './support.js';
import { KEYWORD, startScoringLM, type ScoringLM } from './scoring_lm.js';

class QA extends Module<{ question: string }, { answer: string }> {
  qa = new ChainOfThought('question -> answer');
  override forward(inputs: { question: string }, options?: CallOptions): Promise<Prediction<{ answer: string }>> {
    return this.qa.call(inputs, options) as Promise<Prediction<{ answer: string }>>;
  }
}

/** Two predictors in sequence: the second runs after the first's LM call, so an update can land between them. */
class TwoSteps extends Module<{ question: string }, { answer: string }> {
  draft = new Predict('question -> draft');
  answer = new Predict('question, draft -> answer');
  override async forward(inputs: { question: string }, options?: CallOptions): Promise<Prediction<{ answer: string }>> {
    const { draft } = await this.draft.call(inputs, options);
    return this.answer.call({ question: inputs.question, draft }, options) as Promise<Prediction<{ answer: string }>>;
  }
}

/**
 * An in-process LM that records each request's question, temperature and instructions and answers with the
 * question. `hold(question)` keeps that question's requests waiting until `release`; `delays` yields that many
 * macrotasks first (to interleave concurrent calls).
 */
class GatedLM implements LM {
  readonly model = 'loopback/gated';
  readonly defaults = {};
  readonly requests: Array<{ question: string; temperature: unknown; instructions: string }> = [];
  readonly delays = new Map<string, number>();
  private readonly gates = new Map<string, { arrived: () => void; arrival: Promise<void>; open: Promise<void>; release: () => void }>();

  hold(question: string): void {
    let arrived!: () => void;
    let release!: () => void;
    const arrival = new Promise<void>((r) => (arrived = r));
    const open = new Promise<void>((r) => (release = r));
    this.gates.set(question, { arrived, arrival, open, release });
  }
  held(question: string): Promise<void> {
    return this.gates.get(question)!.arrival;
  }
  release(question: string): void {
    this.gates.get(question)!.release();
  }

  async call({ messages, config }: LMRequest): Promise<LMResponse> {
    const system = String(messages[0]!.content);
    const user = String(messages.at(-1)!.content);
    const question = /\[\[ ## question ## \]\]\n(\S+)/.exec(user)![1]!;
    const output = system.includes('`answer`') ? 'answer' : 'draft';
    this.requests.push({ question, temperature: config?.temperature, instructions: /your objective is:\s*(.*)/.exec(system)![1]!.trim() });
    const gate = this.gates.get(question);
    if (gate !== undefined) {
      gate.arrived();
      await gate.open;
    }
    for (let i = this.delays.get(question) ?? 0; i > 0; i--) await new Promise((r) => setImmediate(r));
    return { outputs: [{ text: `[[ ## ${output} ## ]]\n${question}\n\n[[ ## completed ## ]]` }], usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, model: this.model, cached: false };
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

  /** TwoSteps on a GatedLM, both steps bound to the space's temperature and instructions. */
  const boundTwoSteps = () => {
    const lm = new GatedLM();
    const program = new TwoSteps();
    program.draft.lm = program.answer.lm = lm;
    const bound = bind(vars, program, {
      'draft.config.temperature': 'temperature',
      'answer.config.temperature': 'temperature',
      'draft.instructions': 'instructions',
      'answer.instructions': 'instructions',
    });
    return { lm, program, bound };
  };

  it('a call sees one version in all its steps while the space changes under it; the program shows the latest after', async () => {
    const { lm, program, bound } = boundTwoSteps();
    lm.hold('slow');
    const slow = bound.call({ question: 'slow' });
    await lm.held('slow'); // its first step is waiting on the LM, at version 0
    await vars.set({ temperature: 0.2, instructions: 'Version one.' });
    expect((await bound.call({ question: 'fast' })).answer).toBe('fast');
    lm.release('slow');
    await slow;
    const steps = (question: string) => lm.requests.filter((r) => r.question === question).map((r) => [r.temperature, r.instructions]);
    expect(steps('slow')).toEqual([[0.7, 'Answer the question.'], [0.7, 'Answer the question.']]);
    expect(steps('fast')).toEqual([[0.2, 'Version one.'], [0.2, 'Version one.']]);
    await bound.call({ question: 'after' });
    expect(steps('after')).toEqual([[0.2, 'Version one.'], [0.2, 'Version one.']]);
    expect(program.answer.config.temperature).toBe(0.2); // the values are written into the program itself once it is idle
  });

  it('concurrent calls and updates: every call runs all its steps with one committed assignment (fast-check)', async () => {
    const { lm, bound } = boundTwoSteps();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.record({ call: fc.nat(5) }), fc.record({ set: fc.integer({ min: 0, max: 10 }) })), { minLength: 2, maxLength: 16 }), async (script) => {
        lm.requests.length = 0;
        const committed = new Set<string>([JSON.stringify([(await vars.get()).values.temperature, (await vars.get()).values.instructions])]);
        const running: Array<Promise<unknown>> = [];
        for (const [i, step] of script.entries()) {
          if ('call' in step) {
            lm.delays.set(`q${run}-${i}`, step.call);
            running.push(bound.call({ question: `q${run}-${i}` }));
          } else {
            const values = { temperature: step.set / 10, instructions: `Set to ${step.set}.` };
            await vars.set(values);
            committed.add(JSON.stringify([values.temperature, values.instructions]));
          }
        }
        await Promise.all(running);
        run++;
        const byCall = new Map<string, string[]>();
        for (const r of lm.requests) byCall.set(r.question, [...(byCall.get(r.question) ?? []), JSON.stringify([r.temperature, r.instructions])]);
        for (const [question, seen] of byCall) {
          expect(seen, question).toHaveLength(2);
          expect(seen[0], question).toBe(seen[1]);
          expect(committed.has(seen[0]!), question).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a path that leads nowhere, a variable of the wrong kind, and an LM name it cannot map', () => {
    const program = new QA();
    expect(() => bind(vars, program, { 'qa.nope.config.temperature': 'temperature' })).toThrow(VariableBindingError);
    expect(() => bind(vars, program, { 'qa.predict.demos': 'temperature' })).toThrow(/takes a demos variable/);
    expect(() => bind(vars, program, { 'qa.module': 'kind' })).toThrow(/ModuleSlot/);
    expect(() => bind(vars, program, { 'qa.lm': 'model' }, { lms: { small } })).toThrow(/large/);
    expect(() => bind(vars, program, { 'qa.predict.whatever': 'temperature' })).toThrow(/ends in config/);
    expect(() => bind(vars, program, { 'qa.predict.config.temperature': 'toString' })).toThrow(/has no variable "toString"/);
  });

  it('refuses at bind time a module variable that may choose ReAct for a slot without tools, naming the path', async () => {
    const withReAct = await (await Variables.connect(rt)).space(defineSpace('kinds', { variables: { kind: variable.module() } }));
    const program = new (class extends Module {
      qa = new ModuleSlot('question -> answer');
      override forward(inputs: { question: string }, options?: CallOptions) {
        return this.qa.call(inputs, options);
      }
    })();
    const error = (() => {
      try {
        bind(withReAct, program, { 'qa.module': 'kind' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(VariableBindingError);
    expect(error).toMatchObject({ code: 'DSPEX_VARIABLE_BINDING', path: 'qa.module', message: expect.stringMatching(/ReAct only with tools/) });
    expect(program.qa.kind).toBe('Predict'); // checked on a copy: the program is untouched
  });
});
