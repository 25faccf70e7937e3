// Evaluate on native programs: a real Predict answered by a scripted LM with known answers. DSPy's result
// shape, devset ordering, concurrency bounds, failure_score, max_errors, per-example timeouts (fake timers)
// and cancellation; every test waits on telemetry or promises, never on time.

import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Evaluate, EvaluationCancelled, EvaluationResult, MaxErrorsExceeded, EmptyDevsetError, EvaluateConfigError, evaluate } from '../src/evaluate/index.js';
import { Prediction } from '../src/primitives/prediction.js';
import { EvaluateTelemetry, ScriptedChatLM, deferred, exactMatch, mathDevset, nextEvalEvent, qaProgram, quietRuntime } from './evaluate_helpers.js';

let rt: Runtime;
let telemetry: EvaluateTelemetry;
beforeEach(() => {
  rt = quietRuntime();
  telemetry = new EvaluateTelemetry();
});
afterEach(async () => {
  vi.useRealTimers();
  await rt.shutdown();
});

describe('evaluate', () => {
  it("scores a Predict against a scripted LM in DSPy's shape: a rounded percentage and (example, prediction, score) rows", async () => {
    const devset = mathDevset(7, (i) => i % 3 === 0); // examples 0, 3, 6 expect a wrong answer
    const lm = new ScriptedChatLM();
    const result = await evaluate(qaProgram(lm), devset, exactMatch, { runtime: rt, telemetry });
    expect(result).toBeInstanceOf(EvaluationResult);
    expect(result).toBeInstanceOf(Prediction);
    expect(result.score).toBe(57.14); // round(100 * 4 / 7, 2)
    expect(result.toNumber()).toBe(57.14); // float(result), as DSPy's Prediction
    expect(result.results).toHaveLength(7);
    result.results.forEach(([example, prediction, score], i) => {
      expect(example).toBe(devset[i]);
      expect(prediction).toBeInstanceOf(Prediction);
      expect(prediction.get('answer')).toBe(String(i + 1));
      expect(score).toBe(i % 3 === 0 ? 0 : 1);
    });
    expect(result.failures).toEqual([]);
    expect(lm.questions.sort()).toEqual(devset.map((e) => String(e.get('question'))).sort());
  });

  it('keeps devset order when examples finish in reverse', async () => {
    const gates = Array.from({ length: 5 }, () => deferred());
    const lm = new ScriptedChatLM(async (question) => {
      const i = Number(/What is (\d+)/.exec(question)![1]);
      await gates[i]!.promise;
      return String(i + 1);
    });
    const finishOrder: number[] = [];
    telemetry.on('eval_example', ({ index }) => finishOrder.push(index));
    const running = evaluate(qaProgram(lm), mathDevset(5), exactMatch, { runtime: rt, telemetry, concurrency: 5 });
    for (let i = 4; i >= 0; i--) {
      const finished = nextEvalEvent(telemetry, 'eval_example', (e) => e.index === i);
      gates[i]!.resolve();
      await finished;
    }
    const result = await running;
    expect(finishOrder).toEqual([4, 3, 2, 1, 0]);
    expect(result.results.map(([example]) => example.get('question'))).toEqual(mathDevset(5).map((e) => e.get('question')));
    expect(result.score).toBe(100);
  });

  it('runs at most `concurrency` examples at once, and hundreds when asked', async () => {
    for (const concurrency of [3, 16, 300]) {
      const release = deferred();
      // Every example waits until `concurrency` of them are in flight at once; later ones pass straight through.
      const lm = new ScriptedChatLM(async (question) => {
        if (lm.inFlight >= concurrency) release.resolve();
        await release.promise;
        return String(Number(/What is (\d+)/.exec(question)![1]) + 1);
      });
      const result = await evaluate(qaProgram(lm), mathDevset(2 * concurrency), exactMatch, { runtime: rt, telemetry, concurrency });
      expect(lm.maxInFlight).toBe(concurrency);
      expect(result.score).toBe(100);
    }
  });

  it('gives failed examples the failure score and an empty Prediction, and counts that score in the total', async () => {
    const lm = new ScriptedChatLM((question) => {
      if (question.startsWith('What is 1 ') || question.startsWith('What is 2 ')) throw new TypeError(`no answer for ${question}`);
      return String(Number(/What is (\d+)/.exec(question)![1]) + 1);
    });
    const errors: string[] = [];
    telemetry.on('eval_error', ({ index, code }) => errors.push(`${index}:${code}`));
    const result = await evaluate(qaProgram(lm), mathDevset(4), exactMatch, { runtime: rt, telemetry, failureScore: 0.25 });
    expect(result.results.map(([, , score]) => score)).toEqual([1, 0.25, 0.25, 1]);
    expect(result.results[1]![1].keys()).toEqual([]);
    expect(result.score).toBe(62.5); // (1 + 0.25 + 0.25 + 1) / 4, as DSPy sums failure scores too
    expect(result.failures.map((f) => [f.index, f.code, f.error.message])).toEqual([
      [1, 'TypeError', 'no answer for What is 1 + 1?'],
      [2, 'TypeError', 'no answer for What is 2 + 1?'],
    ]);
    expect(errors.sort()).toEqual(['1:TypeError', '2:TypeError']);
  });

  it('counts a metric that throws, or returns no number, as a failed example', async () => {
    const metric = (_e: unknown, prediction: Prediction): number => {
      if (prediction.get('answer') === '2') throw new RangeError('metric broke');
      return prediction.get('answer') === '3' ? (undefined as unknown as number) : 1;
    };
    const result = await evaluate(qaProgram(new ScriptedChatLM()), mathDevset(3), metric, { runtime: rt, telemetry });
    expect(result.failures.map((f) => [f.index, f.code])).toEqual([
      [1, 'RangeError'],
      [2, 'DSPEX_EVAL_CONFIG'],
    ]);
    expect(result.score).toBe(33.33);
  });

  it('stops with MaxErrorsExceeded once maxErrors examples failed, cancelling the examples still running (as DSPy)', async () => {
    const hang = deferred<string>();
    const lm = new ScriptedChatLM((question) => {
      const i = Number(/What is (\d+)/.exec(question)![1]);
      if (i < 3) throw new Error(`boom ${i}`);
      return hang.promise; // the rest never answer on their own
    });
    const running = evaluate(qaProgram(lm), mathDevset(20), exactMatch, { runtime: rt, telemetry, concurrency: 6, maxErrors: 3 });
    const error = (await running.catch((e: unknown) => e)) as MaxErrorsExceeded;
    expect(error).toBeInstanceOf(MaxErrorsExceeded);
    expect(error.code).toBe('DSPEX_EVAL_MAX_ERRORS');
    expect(error.partial.failures.map((f) => f.index)).toEqual([0, 1, 2]);
    expect(error.partial.completed).toEqual([]);
    expect((error.cause as Error).message).toBe('boom 0');
    // Every example that was still running was aborted; a failure frees its slot, so at most 6 + 2 started.
    const hanging = lm.questions.filter((q) => Number(/What is (\d+)/.exec(q)![1]) >= 3);
    expect(lm.aborted.sort()).toEqual(hanging.sort());
    expect(hanging.length).toBeGreaterThanOrEqual(3);
    expect(lm.questions.length).toBeLessThanOrEqual(8);
  });

  it('finishes when fewer than maxErrors examples fail', async () => {
    const lm = new ScriptedChatLM((question) => {
      if (question.startsWith('What is 0 ') || question.startsWith('What is 1 ')) throw new Error('boom');
      return String(Number(/What is (\d+)/.exec(question)![1]) + 1);
    });
    const result = await evaluate(qaProgram(lm), mathDevset(5), exactMatch, { runtime: rt, telemetry, maxErrors: 3 });
    expect(result.stats.failed).toBe(2);
    expect(result.score).toBe(60);
  });

  it('cancels an example that runs past the per-example timeout (fake timers)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const slowStarted = deferred();
    const lm = new ScriptedChatLM((question) => {
      if (!question.startsWith('What is 2 ')) return String(Number(/What is (\d+)/.exec(question)![1]) + 1);
      slowStarted.resolve();
      return new Promise<string>(() => undefined); // never answers
    });
    const slowDone = nextEvalEvent(telemetry, 'eval_example', (e) => e.index === 2);
    const othersDone = Promise.all([0, 1, 3].map((i) => nextEvalEvent(telemetry, 'eval_example', (e) => e.index === i)));
    const running = evaluate(qaProgram(lm), mathDevset(4), exactMatch, { runtime: rt, telemetry, timeoutMs: 30_000 });
    await slowStarted.promise;
    await othersDone;
    await vi.advanceTimersByTimeAsync(29_999);
    expect(lm.aborted).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await slowDone).toMatchObject({ ok: false, score: 0 });
    const result = await running;
    expect(result.failures.map((f) => [f.index, f.code])).toEqual([[2, 'DSPEX_EVAL_EXAMPLE_TIMEOUT']]);
    expect(lm.aborted).toEqual(['What is 2 + 1?']); // the killed task's work was aborted, not left running
    expect(result.score).toBe(75);
  });

  it('cancels promptly on its AbortSignal: running examples are aborted and no new one starts', async () => {
    const controller = new AbortController();
    const lm = new ScriptedChatLM((question) => {
      const i = Number(/What is (\d+)/.exec(question)![1]);
      return i < 2 ? String(i + 1) : new Promise<string>(() => undefined);
    });
    // Abort from the telemetry of the second finished example, while the others hang.
    let startedAtAbort = -1;
    telemetry.on('eval_example', ({ done }) => {
      if (done !== 2) return;
      startedAtAbort = lm.questions.length;
      controller.abort(new Error('user pressed stop'));
    });
    const error = (await evaluate(qaProgram(lm), mathDevset(50), exactMatch, { runtime: rt, telemetry, concurrency: 6, signal: controller.signal }).catch((e: unknown) => e)) as EvaluationCancelled;
    expect(error).toBeInstanceOf(EvaluationCancelled);
    expect(error.code).toBe('DSPEX_EVAL_CANCELLED');
    expect(error.partial.completed.map((c) => c.index)).toEqual([0, 1]);
    expect((error.cause as Error).message).toBe('user pressed stop');
    expect(lm.questions).toHaveLength(startedAtAbort); // nothing started after the abort
    expect(lm.aborted.sort()).toEqual(lm.questions.slice(2).sort()); // and everything running was aborted
    expect(lm.aborted.length).toBeGreaterThanOrEqual(4);
    // An already-aborted signal refuses to start.
    await expect(evaluate(qaProgram(lm), mathDevset(1), exactMatch, { runtime: rt, signal: controller.signal })).rejects.toBeInstanceOf(EvaluationCancelled);
  });

  it('cancels on a signal aborted while it starts (before its own runtime and supervisor are up)', async () => {
    const controller = new AbortController();
    const lm = new ScriptedChatLM(() => new Promise<string>(() => undefined)); // every example hangs until aborted
    const running = evaluate(qaProgram(lm), mathDevset(3), exactMatch, { telemetry, concurrency: 1, signal: controller.signal });
    controller.abort(new Error('user pressed stop'));
    const error = (await running.catch((e: unknown) => e)) as EvaluationCancelled;
    expect(error).toBeInstanceOf(EvaluationCancelled);
    expect(lm.aborted).toEqual(lm.questions); // whatever had started was aborted
  });

  it('refuses an empty devset and bad options before starting anything', async () => {
    const program = qaProgram(new ScriptedChatLM());
    await expect(evaluate(program, [], exactMatch, { runtime: rt })).rejects.toBeInstanceOf(EmptyDevsetError);
    await expect(evaluate(program, mathDevset(1), exactMatch, { runtime: rt, concurrency: 0 })).rejects.toBeInstanceOf(EvaluateConfigError);
    await expect(evaluate(program, mathDevset(1), exactMatch, { runtime: rt, timeoutMs: -1 })).rejects.toMatchObject({ code: 'DSPEX_EVAL_CONFIG' });
  });
});

describe('Evaluate', () => {
  it("mirrors dspy.Evaluate: DSPy's options in the constructor, overrides in call()", async () => {
    const lm = new ScriptedChatLM();
    const evaluator = new Evaluate({ devset: mathDevset(4, (i) => i === 0), metric: exactMatch, numThreads: 2, failureScore: 0, maxErrors: 5, runtime: rt, telemetry });
    const program = qaProgram(lm);
    expect((await evaluator.call(program)).score).toBe(75);
    expect(lm.maxInFlight).toBeLessThanOrEqual(2);
    const half = await evaluator.call(program, { metric: async () => 0.5, devset: mathDevset(3) }); // an async metric
    expect(half.score).toBe(50);
    expect(half.results).toHaveLength(3);
    await expect(new Evaluate({ devset: mathDevset(1), runtime: rt }).call(program)).rejects.toMatchObject({ code: 'DSPEX_EVAL_CONFIG' });
  });
});
