// Evaluate on DSPy programs living in a Python pool: measured exactly like a native Predict (same server,
// same TypeScript metric, same scores), and surviving a Python worker killed with SIGKILL mid-run: idempotent
// examples are retried once on a recreated program, others count as errors, and no example is lost.

import type { PythonPool } from '@dspex/python-bridge';
import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { LM, evaluate } from 'dspex';
import { startFakeOpenAI, type FakeOpenAI } from '../../../dspex/bench/openai_server.js';
import { pythonProgram, setupPythonProgram, type PythonSession } from '../../src/index.js';
import { EvaluateTelemetry, LOOPBACK_PYTHON_ENV, deferred, exactMatch, mathDevset, qaProgram, quietRuntime, startReadyPool } from '../../../dspex/test/evaluate_helpers.js';

let rt: Runtime;
let server: FakeOpenAI | undefined;
beforeEach(() => void (rt = quietRuntime()));
afterEach(async () => {
  await rt.shutdown(10_000);
  await server?.close();
  server = undefined;
});

/** A session's program: dspy.LM pointed at the fake server (cache off), then dspy.Predict('question -> answer'). */
function qaSetup(url: string): (session: PythonSession) => Promise<string> {
  return async (session) => {
    await session.call('configure_lm', { model: 'openai/fake', api_base: url, api_key: 'sk-test', cache: false, num_retries: 0 });
    return (await session.call<{ handle: string }>('create', { class: 'dspy.Predict', args: ['question -> answer'] })).handle;
  };
}

async function pool(size: number): Promise<PythonPool> {
  return startReadyPool(rt, { name: `eval-${size}-${Math.random().toString(36).slice(2, 8)}`, size, python: { env: LOOPBACK_PYTHON_ENV } });
}

it('measures a Python dspy.Predict and a native Predict alike: same server, same TypeScript metric, same scores', async () => {
  server = await startFakeOpenAI();
  const devset = mathDevset(12, (i) => i % 4 === 1);
  const session = (await pool(1)).session('alike');
  const python = pythonProgram(session, await qaSetup(server.url)(session));
  const lm = await LM.start(rt, { name: 'alike', model: 'openai/fake', apiBase: server.url, cache: { memory: false }, retries: 0 });

  const fromPython = await evaluate(python, devset, exactMatch, { runtime: rt, concurrency: 4 });
  const native = await evaluate(qaProgram(lm), devset, exactMatch, { runtime: rt, concurrency: 4 });
  expect(fromPython.score).toBe(75);
  expect(native.score).toBe(75);
  expect(fromPython.results.map(([, p, s]) => [p.toDict(), s])).toEqual(native.results.map(([, p, s]) => [p.toDict(), s]));
  expect(server.received()).toBe(24);
}, 60_000);

/**
 * Runs 24 examples, 8 at a time, against a program in `session` of a 2-worker pool. Requests of examples 4+
 * are held at the server; when the 4th example finishes (a telemetry hook, not a timer) the session's worker
 * is killed with SIGKILL, and the held requests are released once the pool saw the worker exit.
 */
async function evaluateThroughAKill(idempotent: boolean) {
  const gate = deferred();
  server = await startFakeOpenAI({ hold: (question) => (Number(/What is (\d+)/.exec(question)?.[1] ?? 0) >= 4 ? gate.promise : undefined) });
  const python = await pool(2);
  const session = python.session('victim', { affinity: 'strict_queue' });
  const program = await setupPythonProgram(session, qaSetup(server.url), { idempotent });
  const { pid: victim } = await session.call<{ pid: number }>('info');
  const telemetry = new EvaluateTelemetry();
  const retries: number[] = [];
  telemetry.on('eval_retry', ({ index }) => retries.push(index));
  telemetry.on('eval_example', ({ done }) => {
    if (done !== 4) return;
    python.telemetry.once('worker_exit', () => gate.resolve());
    process.kill(victim, 'SIGKILL');
  });
  const devset = mathDevset(24);
  const result = await evaluate(program, devset, exactMatch, { runtime: rt, telemetry, concurrency: 8, maxErrors: Infinity });
  // Every devset item is in the results exactly once, in order, whatever happened to it.
  expect(result.results).toHaveLength(24);
  result.results.forEach(([example], i) => expect(example).toBe(devset[i]));
  // The program was recreated in the rebuilt session, which now lives in another Python process.
  expect((await session.call<{ pid: number }>('info')).pid).not.toBe(victim);
  expect(await session.call('call', { handle: program.handle, kwargs: { question: 'What is 2 + 2?' } })).toEqual({ answer: '4' });
  return { result, retries };
}

it('retries an idempotent example once when its Python worker is killed mid-run, and loses none', async () => {
  const { result, retries } = await evaluateThroughAKill(true);
  expect(result.failures).toEqual([]);
  expect(result.score).toBe(100);
  expect(retries.length).toBeGreaterThanOrEqual(1);
  expect(result.stats.retried).toBe(retries.length);
  expect(new Set(retries).size).toBe(retries.length); // once each
  expect(Math.min(...retries)).toBeGreaterThanOrEqual(4); // only the examples in flight at the kill
}, 90_000);

it('counts an example whose Python worker died as an error when the program is not idempotent', async () => {
  const { result, retries } = await evaluateThroughAKill(false);
  expect(retries).toEqual([]);
  expect(result.failures.length).toBeGreaterThanOrEqual(1);
  for (const failure of result.failures) {
    expect(['DSPEX_WORKER_CRASHED', 'DSPEX_SESSION_WORKER_LOST']).toContain(failure.code);
    expect(failure.index).toBeGreaterThanOrEqual(4);
    expect(result.results[failure.index]![2]).toBe(0);
  }
  // The examples that were not in flight at the kill ran on the recreated program.
  const scored = result.results.filter(([, , score]) => score === 1).length;
  expect(scored + result.failures.length).toBe(24);
  expect(scored).toBeGreaterThanOrEqual(16);
}, 90_000);
