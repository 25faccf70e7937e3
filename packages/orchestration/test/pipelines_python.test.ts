// Python steps in a durable pipeline: a DSPy dspy.Predict living in a real Python pool (a PythonProgram step)
// between two function steps, journaled on SQLite. The Python worker is SIGKILLed while the step's LM request
// is held at the loopback server: the step is retried on the recreated program (at-least-once), the run ends
// with the output of an undisturbed run, and no completed step runs twice, not even on a resume afterwards.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PythonPools, type PythonPool } from '@dspex/python-bridge';
import { Runtime } from '@dspex/runtime';
import { openStore, type Store } from '@dspex/store';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { PipelineRunner, pipeline, setupPythonProgram, step, type PipelineEvent, type RunState, type PythonSession } from '../src/index.js';
import { startLoopbackLM, type LoopbackLM } from './support/loopback_lm.js';

/** Python workers call the loopback server through litellm: no proxy, no network lookups. */
const LOOPBACK_ENV = { NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost', LITELLM_LOCAL_MODEL_COST_MAP: 'True' };

let rt: Runtime;
let dir: string;
let store: Store;
let server: LoopbackLM | undefined;
beforeEach(async () => {
  rt = new Runtime();
  dir = mkdtempSync(join(tmpdir(), 'dspex-pipeline-python-'));
  store = await openStore({ sqlite: { dir } });
});
afterEach(async () => {
  await rt.shutdown(10_000);
  await store.close();
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function qaSetup(url: string): (session: PythonSession) => Promise<string> {
  return async (session) => {
    await session.call('configure_lm', { model: 'openai/tiny', api_base: url, api_key: 'unused', cache: false, num_retries: 0 });
    return (await session.call<{ handle: string }>('create', { class: 'dspy.Predict', args: ['question -> answer'] })).handle;
  };
}

/** prepare (function) -> answer (dspy.Predict in `pool`) -> finish (function); counts function executions. */
async function qaPipeline(pool: PythonPool, url: string) {
  const session = pool.session('pipeline-qa', { affinity: 'strict_queue' });
  const program = await setupPythonProgram(session, qaSetup(url), { idempotent: true });
  const executions: string[] = [];
  const p = pipeline('python-qa', {
    inputs: ['topic'],
    steps: [
      step('prepare', async ({ topic }) => (executions.push('prepare'), { question: `What is ${String(topic)}?` }), { inputs: ['topic'], outputs: ['question'] }),
      step('answer', program, { inputs: ['question'], outputs: ['answer'], retry: { attempts: 3, backoffMs: 10 } }),
      step('finish', async ({ answer }) => (executions.push('finish'), { report: `answer=${String(answer)}` }), { inputs: ['answer'], outputs: ['report'] }),
    ],
  });
  return { p, session, executions };
}

async function collect(events: AsyncIterable<PipelineEvent>): Promise<PipelineEvent[]> {
  const all: PipelineEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

it('retries a Python step whose worker is SIGKILLed mid-call and ends with the undisturbed output; no completed step runs twice', async () => {
  // The first LM request (the answer step's first attempt) is held until the killed worker's exit was seen.
  let releaseHeld!: () => void;
  const held = new Promise<void>((resolve) => (releaseHeld = resolve));
  let onFirstRequest!: () => void;
  const firstRequest = new Promise<void>((resolve) => (onFirstRequest = resolve));
  server = await startLoopbackLM({ hold: (call) => (call === 1 ? (onFirstRequest(), held) : undefined) });
  const pool = await PythonPools.start(rt, { name: `pipeline-py-${process.pid}`, size: 1, python: { env: LOOPBACK_ENV } });
  const { p, session, executions } = await qaPipeline(pool, server.url);
  const { pid: victim } = await session.call<{ pid: number }>('info');

  const runner = new PipelineRunner(rt, { store, pipelines: [p] });
  const run = runner.start(p, { topic: 'durability' });
  const events = collect(run.events());
  await firstRequest; // the answer step is in Python, waiting on the LM
  pool.telemetry.once('worker_exit', () => releaseHeld());
  process.kill(victim, 'SIGKILL');
  const output = await run.result;

  // The program was recreated in a new worker, and the retried attempt answered.
  expect((await session.call<{ pid: number }>('info')).pid).not.toBe(victim);
  const retried = (await events).filter((e) => e.type === 'step_retried');
  expect(retried.map((e) => e.step)).toEqual(['answer']);
  const finished = (await events).filter((e): e is Extract<PipelineEvent, { type: 'step_finished' }> => e.type === 'step_finished');
  expect(finished.map((e) => [e.step, e.attempts])).toEqual([['prepare', 1], ['answer', 2], ['finish', 1]]);
  expect(executions).toEqual(['prepare', 'finish']);

  // The same pipeline, undisturbed, gives the same output (the loopback answers deterministically per input).
  const undisturbed: RunState = await new PipelineRunner(rt).start(p, { topic: 'durability' }).result;
  expect(output).toEqual(undisturbed);
  expect(String(output.answer)).toMatch(/^answer:[0-9a-f]{8}$/);
  expect(output.report).toBe(`answer=${String(output.answer)}`);

  // Resuming the finished run replays it from the store: nothing executes again.
  executions.length = 0;
  const calls = server.calls;
  expect(await runner.resume(run.runId).result).toEqual(output);
  expect(executions).toEqual([]);
  expect(server.calls).toBe(calls);
}, 90_000);

it('replays journaled steps around a Python step on resume: only the step that never finished runs', async () => {
  server = await startLoopbackLM();
  const pool = await PythonPools.start(rt, { name: `pipeline-py-resume-${process.pid}`, size: 1, python: { env: LOOPBACK_ENV } });
  const { p, executions } = await qaPipeline(pool, server.url);
  // A crashed run as the journal would hold it: prepare done, answer in flight (no entry), finish not started.
  const runId = 'crashed-python-run';
  await store.createRun({ runId, pipeline: p.name, input: { topic: 'resume' } });
  await store.appendJournal(runId, { stepKey: 'prepare', value: { outcome: 'ok', outputs: { question: 'What is resume?' } } });

  const run = new PipelineRunner(rt, { store, pipelines: [p] }).resume(runId);
  const events = collect(run.events());
  const output = await run.result;
  const finished = (await events).filter((e): e is Extract<PipelineEvent, { type: 'step_finished' }> => e.type === 'step_finished');
  expect(finished.map((e) => [e.step, e.replayed])).toEqual([['prepare', true], ['answer', false], ['finish', false]]);
  expect(executions).toEqual(['finish']);
  expect(server.calls).toBe(1);
  expect(output.report).toBe(`answer=${String(output.answer)}`);
}, 90_000);
