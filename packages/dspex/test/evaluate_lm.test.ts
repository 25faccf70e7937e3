// Evaluate through the real LM client: a native Predict calling an LMClient GenServer over HTTP. The client's
// typed errors become failed examples (failure_score, max_errors), and its rate limiter paces the evaluation,
// which never goes around it.

import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../bench/openai_server.js';
import { LM, lmTelemetry } from '../src/clients/index.js';
import { MaxErrorsExceeded, evaluate } from '../src/evaluate/index.js';
import { ManualClock } from './clients/helpers.js';
import { EvaluateTelemetry, exactMatch, mathDevset, nextEvalEvent, qaProgram, quietRuntime } from './evaluate_helpers.js';

let rt: Runtime;
let server: FakeOpenAI;
beforeEach(() => void (rt = quietRuntime()));
afterEach(async () => {
  await rt.shutdown();
  await server.close();
});

const failing = (question: string): number | undefined => (/What is (1|4) \+/.test(question) ? 400 : undefined);

it("counts the LM client's typed errors as failed examples with the failure score", async () => {
  server = await startFakeOpenAI({ failWith: failing });
  const lm = await LM.start(rt, { name: 'typed-errors', model: 'openai/fake', apiBase: server.url, cache: { memory: false }, retries: 0 });
  const result = await evaluate(qaProgram(lm), mathDevset(6), exactMatch, { runtime: rt, failureScore: 0.5 });
  expect(result.failures.map((f) => [f.index, f.code, f.error.name])).toEqual([
    [1, 'DSPEX_LM_HTTP', 'LMHttpError'],
    [4, 'DSPEX_LM_HTTP', 'LMHttpError'],
  ]);
  expect(result.results.map(([, , score]) => score)).toEqual([1, 0.5, 1, 1, 0.5, 1]);
  expect(result.score).toBe(83.33);

  await expect(evaluate(qaProgram(lm), mathDevset(6), exactMatch, { runtime: rt, maxErrors: 2, concurrency: 1 })).rejects.toSatisfy(
    (error: unknown) => error instanceof MaxErrorsExceeded && (error.cause as { code?: string }).code === 'DSPEX_LM_HTTP' && error.partial.completed.length === 3,
  );
});

it("is paced by the LM client's rate limiter: an example over the rpm budget waits in the client", async () => {
  server = await startFakeOpenAI();
  const clock = new ManualClock();
  const lm = await LM.start(rt, { name: 'paced', model: 'openai/fake', apiBase: server.url, cache: { memory: false }, retries: 0, rateLimit: { rpm: 2 }, clock });
  const telemetry = new EvaluateTelemetry();
  const limited = new Promise<number>((resolve) => lmTelemetry.once('lm_rate_limited', ({ waitMs }) => resolve(waitMs)));
  const twoDone = nextEvalEvent(telemetry, 'eval_example', (e) => e.done === 2);
  const running = evaluate(qaProgram(lm), mathDevset(3), exactMatch, { runtime: rt, telemetry, concurrency: 3 });
  expect(await limited).toBe(30_000); // two requests per minute: the third waits half a minute
  await twoDone;
  await clock.waitForTimer(30_000);
  expect(server.received()).toBe(2);
  clock.advance(30_000);
  const result = await running;
  expect(result.score).toBe(100);
  expect(server.received()).toBe(3);
  expect(await lm.usage()).toMatchObject({ calls: 3, requests: 3 });
});
