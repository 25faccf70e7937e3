// Concurrent top-level calls never mix their usage: with random programs (sequential, parallel and awaited
// sub-calls, with and without passing options on) and every LM reply resolved in an order fast-check picks.

import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { LM, LMRequest, LMResponse } from '../../src/primitives/lm.js';
import { ChainOfThought } from '../../src/predict/chain_of_thought.js';
import { Predict } from '../../src/predict/predict.js';
import { Module, type CallOptions } from '../../src/program/module.js';
import { Prediction } from '../../src/primitives/prediction.js';
import { configure, resetSettings } from '../../src/program/settings.js';
import { callSite, recordLMCall } from '../../src/program/lm_record.js';

/** An LM that implements the contract itself (recordLMCall) and answers when the fast-check scheduler says. */
class ScheduledLM implements LM {
  readonly defaults = {};
  constructor(readonly model: string, private readonly scheduler: fc.Scheduler) {}
  async call(request: LMRequest): Promise<LMResponse> {
    const site = callSite(request);
    const text = request.messages.map((m) => m.content).join('\n');
    const id = Number(/id=(\d+)/.exec(text)![1]);
    const reasoning = request.messages[0]!.content.includes('reasoning') ? '[[ ## reasoning ## ]]\nr\n\n' : '';
    const response: LMResponse = { outputs: [{ text: `${reasoning}[[ ## answer ## ]]\nok\n\n[[ ## completed ## ]]` }], usage: { promptTokens: 1, completionTokens: id, totalTokens: 1 + id }, model: this.model, cached: false };
    await this.scheduler.schedule(Promise.resolve(), `reply id=${id}`);
    recordLMCall(site, this.model, undefined, request, response);
    return response;
  }
}

type Step = { kind: 'one' } | { kind: 'parallel'; width: number } | { kind: 'tick' };

/** A hand-written program running `steps`; `passing` passes its options on (and says so), else it does not. */
function program(steps: Step[], passing: boolean): Module {
  class Program extends Module {
    static override readonly passesCallOptions = passing;
    qa = new Predict('question -> answer');
    cot = new ChainOfThought('question -> answer');
    async forward(inputs: Record<string, unknown>, options?: CallOptions) {
      const passed = passing ? options : undefined;
      for (const step of steps) {
        if (step.kind === 'tick') await Promise.resolve();
        else if (step.kind === 'one') await this.qa.call(inputs, passed);
        else await Promise.all(Array.from({ length: step.width }, (_, i) => (i % 2 === 0 ? this.cot : this.qa).call(inputs as { question: string }, passed)));
      }
      return new Prediction({ answer: 'done' });
    }
  }
  return new Program();
}

const calls = (steps: Step[]): number => steps.reduce((n, s) => n + (s.kind === 'one' ? 1 : s.kind === 'parallel' ? s.width : 0), 0);

const stepArb: fc.Arbitrary<Step> = fc.oneof(fc.constant<Step>({ kind: 'one' }), fc.record({ kind: fc.constant('parallel' as const), width: fc.integer({ min: 1, max: 3 }) }), fc.constant<Step>({ kind: 'tick' }));

afterEach(() => resetSettings());

describe('usage of concurrent calls', () => {
  it('each top-level call gets exactly its own LM calls, whatever the interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(fc.record({ steps: fc.array(stepArb, { minLength: 1, maxLength: 4 }), passing: fc.boolean() }), { minLength: 2, maxLength: 4 }), async (scheduler, specs) => {
        resetSettings();
        const lm = new ScheduledLM('test/scheduled', scheduler);
        configure({ trackUsage: true, lm });
        const runs = specs.map((spec, id) => program(spec.steps, spec.passing).call({ question: `id=${id + 1}` }));
        const predictions = await scheduler.waitFor(Promise.all(runs));
        specs.forEach((spec, index) => {
          const n = calls(spec.steps);
          const usage = predictions[index]!.lmUsage!;
          if (n === 0) expect(usage).toEqual({});
          else expect(usage).toEqual({ 'test/scheduled': { promptTokens: n, completionTokens: n * (index + 1), totalTokens: n * (index + 2) } });
        });
      }),
      { numRuns: 60 },
    );
  });
});
