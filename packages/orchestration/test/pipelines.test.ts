// Pipelines without a store: build-time field checks, the combinators, per-step policies, events, cancellation
// and containment of a crashing step, and Module steps (plain and streaming) on a loopback LM.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '@dspex/runtime';
import { ChatAdapter, LM, Predict, Tool, configure } from 'dspex';
import {
  PipelineBuildError, PipelineCancelledError, PipelineRunner, StepFailedError, StepTimeoutError,
  branch, loop, map, parallel, pipeline, pipelineTelemetry, sequence, step, type PipelineEvent,
} from '../src/index.js';
import { startLoopbackLM, type LoopbackLM } from './support/loopback_lm.js';

let rt: Runtime;
afterEach(async () => {
  await rt?.shutdown();
});
const fresh = (): PipelineRunner => new PipelineRunner((rt = new Runtime()));
const collect = async (events: AsyncIterable<PipelineEvent>): Promise<PipelineEvent[]> => {
  const out: PipelineEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
};
class Retryable extends Error { readonly code = 'TEST_FLAKY'; readonly retryable = true; }

describe('build-time checks', () => {
  it('names the step and the fields nothing produces', () => {
    let error: unknown;
    try {
      pipeline('p', { inputs: ['question'], steps: [step('answer', async () => ({ answer: 1 }), { inputs: ['question', 'passages', 'k'], outputs: ['answer'] })] });
    } catch (e) { error = e; }
    expect(error).toBeInstanceOf(PipelineBuildError);
    expect((error as PipelineBuildError).step).toBe('answer');
    expect((error as PipelineBuildError).fields).toEqual(['passages', 'k']);
    expect((error as PipelineBuildError).code).toBe('DSPEX_PIPELINE_BUILD');
  });
  it('sees fields of earlier steps, not later ones, and only the common fields of a branch', () => {
    const a = step('a', async () => ({ x: 1 }), { inputs: [], outputs: ['x'] });
    expect(() => pipeline('ok', { inputs: [], steps: [a, step('b', async () => ({ y: 1 }), { inputs: ['x'], outputs: ['y'] })] })).not.toThrow();
    expect(() => pipeline('late', { inputs: [], steps: [step('b', async () => ({ y: 1 }), { inputs: ['x'], outputs: ['y'] }), a] })).toThrow(/'x'/);
    const onlyThen = branch('br', { when: () => true, then: a });
    expect(() => pipeline('br', { inputs: [], steps: [onlyThen, step('c', async () => ({ z: 1 }), { inputs: ['x'], outputs: ['z'] })] })).toThrow(PipelineBuildError);
    expect(() => pipeline('dup', { inputs: [], steps: [a, a] })).toThrow(/twice/);
  });
});

describe('combinators', () => {
  it('sequence, map (order kept, concurrency), parallel all, branch, loop', async () => {
    let running = 0;
    let peak = 0;
    const p = pipeline('all', {
      inputs: ['n'],
      steps: [
        step('list', async ({ n }) => ({ items: Array.from({ length: n as number }, (_, i) => i) }), { inputs: ['n'], outputs: ['items'] }),
        map('square', {
          over: 'items', concurrency: 3, output: 'squares',
          body: step('sq', async ({ item }) => {
            peak = Math.max(peak, ++running);
            await new Promise((r) => setImmediate(r));
            running--;
            return { value: (item as number) ** 2 };
          }, { inputs: ['item'], outputs: ['value'] }),
        }),
        parallel('stats', {
          sum: step('sum', async ({ squares }) => ({ sum: (squares as Array<{ value: number }>).reduce((s, v) => s + v.value, 0) }), { inputs: ['squares'], outputs: ['sum'] }),
          count: step('count', async ({ squares }) => ({ count: (squares as unknown[]).length }), { inputs: ['squares'], outputs: ['count'] }),
        }),
        branch('big', { when: (s) => (s.sum as number) > 10, then: step('label', async () => ({ label: 'big' }), { inputs: [], outputs: ['label'] }), else: step('label2', async () => ({ label: 'small' }), { inputs: [], outputs: ['label'] }) }),
        loop('double', { body: step('twice', async ({ sum }) => ({ sum: (sum as number) * 2 }), { inputs: ['sum'], outputs: ['sum'] }), until: (s) => (s.sum as number) > 100, maxIterations: 10 }),
      ],
    });
    const out = await fresh().start(p, { n: 5 }).result;
    expect(out.squares).toEqual([0, 1, 4, 9, 16].map((value) => ({ value })));
    expect(peak).toBeLessThanOrEqual(3);
    expect(out).toMatchObject({ count: 5, label: 'big', sum: 120 });
  });
  it('parallel firstSuccess takes the first branch that succeeds; race the first that ends', async () => {
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const branches = {
      fails: step('fails', async () => { throw new Error('no'); }, { inputs: [], outputs: ['v'] }),
      slow: step('slow', async () => { await slow; return { v: 'slow' }; }, { inputs: [], outputs: ['v'] }),
      fast: step('fast', async () => { await new Promise((r) => setImmediate(r)); return { v: 'fast' }; }, { inputs: [], outputs: ['v'] }),
    };
    const runner = fresh();
    expect((await runner.start(pipeline('fs', { inputs: [], steps: [parallel('p', branches, { mode: 'firstSuccess' })] }), {}).result).v).toBe('fast');
    await expect(runner.start(pipeline('race', { inputs: [], steps: [parallel('p', branches, { mode: 'race' })] }), {}).result).rejects.toThrow(StepFailedError);
    release();
  });
  it("map's per-item failure policy: skip drops the item, null keeps its place", async () => {
    const body = step('f', async ({ item }) => { if (item === 2) throw new Error('bad item'); return { v: item }; }, { inputs: ['item'], outputs: ['v'] });
    const runner = fresh();
    const skip = await runner.start(pipeline('skip', { inputs: ['xs'], steps: [map('m', { over: 'xs', body, output: 'out', onItemFailure: 'skip' })] }), { xs: [1, 2, 3] }).result;
    expect(skip.out).toEqual([{ v: 1 }, { v: 3 }]);
    const nul = await runner.start(pipeline('null', { inputs: ['xs'], steps: [map('m', { over: 'xs', body, output: 'out', onItemFailure: 'null' })] }), { xs: [1, 2, 3] }).result;
    expect(nul.out).toEqual([{ v: 1 }, null, { v: 3 }]);
    await expect(runner.start(pipeline('fail', { inputs: ['xs'], steps: [map('m', { over: 'xs', body, output: 'out' })] }), { xs: [1, 2, 3] }).result).rejects.toThrow(/bad item/);
  });
});

describe('per-step policies', () => {
  it('retries only retryable errors, with retried events', async () => {
    let calls = 0;
    const flaky = step('flaky', async () => { if (++calls < 3) throw new Retryable('try again'); return { v: calls }; }, { inputs: [], outputs: ['v'], retry: { attempts: 3, backoffMs: 1 } });
    const run = fresh().start(pipeline('r', { inputs: [], steps: [flaky] }), {});
    expect((await run.result).v).toBe(3);
    const events = await collect(run.events());
    expect(events.filter((e) => e.type === 'step_retried').map((e) => (e as { attempt: number }).attempt)).toEqual([2, 3]);
    let plain = 0;
    const notRetryable = step('plain', async () => { plain++; throw new Error('a bug'); }, { inputs: [], outputs: ['v'], retry: { attempts: 3, backoffMs: 1 } });
    await expect(fresh().start(pipeline('n', { inputs: [], steps: [notRetryable] }), {}).result).rejects.toBeInstanceOf(StepFailedError);
    expect(plain).toBe(1);
  });
  it('timeout kills the task and aborts its signal; fallback, skip and default go on', async () => {
    let aborted: unknown;
    const hangs = (name: string, extra: object) => step(name, (_i, { signal }) => new Promise((_r, reject) => signal.addEventListener('abort', () => { aborted = signal.reason; reject(signal.reason); })), { inputs: [], outputs: ['v'], timeoutMs: 20, ...extra });
    const runner = fresh();
    const fb = await runner.start(pipeline('fb', { inputs: [], steps: [hangs('h', { fallback: step('fb', async () => ({ v: 'fallback' }), { inputs: [], outputs: ['v'] }) })] }), {}).result;
    expect(fb.v).toBe('fallback');
    expect(aborted).toBeInstanceOf(StepTimeoutError);
    expect((await runner.start(pipeline('sk', { inputs: [], steps: [hangs('h', { onFailure: 'skip' })] }), {}).result).v).toBeNull();
    expect((await runner.start(pipeline('df', { inputs: [], steps: [hangs('h', { onFailure: { default: { v: 7 } } })] }), {}).result).v).toBe(7);
    const failed = runner.start(pipeline('fail', { inputs: [], steps: [hangs('h', {})] }), {}).result;
    await expect(failed).rejects.toMatchObject({ code: 'DSPEX_STEP_FAILED', cause: expect.any(StepTimeoutError) });
  });
});

describe('runs', () => {
  it('a crashing step is contained in its task: the runtime and the runner live on', async () => {
    const runner = fresh();
    const crash = step('crash', () => { throw new TypeError('boom'); }, { inputs: [], outputs: ['v'] });
    await expect(runner.start(pipeline('c', { inputs: [], steps: [crash] }), {}).result).rejects.toThrow(/boom/);
    expect((await runner.start(pipeline('ok', { inputs: [], steps: [step('fine', async () => ({ v: 1 }), { inputs: [], outputs: ['v'] })] }), {}).result).v).toBe(1);
  });
  it('an AbortSignal cancels the run and aborts the running step', async () => {
    const controller = new AbortController();
    let stepSignal: AbortSignal | undefined;
    const hang = step('hang', (_i, { signal }) => { stepSignal = signal; controller.abort(); return new Promise(() => {}); }, { inputs: [], outputs: ['v'] });
    const run = fresh().start(pipeline('a', { inputs: [], steps: [hang] }), {}, { signal: controller.signal });
    await expect(run.result).rejects.toBeInstanceOf(PipelineCancelledError);
    expect(stepSignal?.aborted).toBe(true);
  });
  it('events: started/finished with durations in order, and telemetry for each step', async () => {
    const seen: string[] = [];
    const listener = (e: PipelineEvent): void => void seen.push(`${e.type}:${'step' in e ? e.step : ''}`);
    pipelineTelemetry.on('step', listener);
    try {
      const p = pipeline('ev', { inputs: [], steps: sequence(step('a', async () => ({ x: 1 }), { inputs: [], outputs: ['x'] }), step('b', async () => ({ y: 2 }), { inputs: ['x'], outputs: ['y'] })) });
      const run = fresh().start(p, {});
      const events = await collect(run.events());
      expect(events.map((e) => `${e.type}:${'step' in e ? e.step : ''}`)).toEqual(['step_started:a', 'step_finished:a', 'step_started:b', 'step_finished:b', 'run_finished:']);
      expect(events.every((e) => !('durationMs' in e) || e.durationMs >= 0)).toBe(true);
      expect(seen).toEqual(['step_started:a', 'step_finished:a', 'step_started:b', 'step_finished:b']);
    } finally {
      pipelineTelemetry.off('step', listener);
    }
  });
});

describe('Module and tool steps on a loopback LM', () => {
  let server: LoopbackLM;
  beforeAll(async () => { server = await startLoopbackLM(); });
  afterAll(async () => { await server.close(); });
  it('runs a Predict, streams its output field as chunks, and calls a tool', async () => {
    const runner = fresh();
    const lm = await LM.start(rt, { model: 'openai/tiny', apiBase: server.url, apiKey: 'unused', cache: { memory: false } });
    configure({ lm, adapter: new ChatAdapter() });
    const shout = new Tool((args: { answer: string }) => args.answer.toUpperCase(), { name: 'shout', args: { answer: { type: 'string' } } });
    const p = pipeline('qa', {
      inputs: ['question'],
      steps: [
        step('answer', new Predict('question -> answer'), { inputs: ['question'], outputs: ['answer'], stream: true }),
        step('shout', shout, { inputs: ['answer'], outputs: ['loud'] }),
      ],
    });
    const run = runner.start(p, { question: 'Capital of France?' });
    const out = await run.result;
    expect(out.answer).toMatch(/^answer:[0-9a-f]{8}$/);
    expect(out.loud).toBe((out.answer as string).toUpperCase());
    const chunks = (await collect(run.events())).filter((e) => e.type === 'chunk');
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.map((c) => (c as { delta: string }).delta).join('')).toBe(out.answer);
  });
});
