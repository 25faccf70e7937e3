// The Router: each call goes native or to Python by what exists, pool health, the LM's circuit breaker and the
// measured latency/error rate; a retryable failure falls back to the other side (a failing native LM -> Python
// answers; a saturated Python pool -> native answers), and every decision is a `route` event.

import { PythonPools, type PythonPool } from '@dspex/python-bridge';
import type { Runtime } from '@dspex/runtime';
import { fileURLToPath } from 'node:url';
import { EventEmitter } from 'eventemitter3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LMAuthError, LMHttpError, Predict, Prediction, ReAct, withSettings, type LM, type LMResponse, type LMTelemetry, type LMTelemetryEvents } from 'dspex';
import { Router, RouterTelemetry, measureRouterOverhead, type RouteEvent } from '../../src/index.js';
import { quietRuntime, startReadyPool } from '../../../dspex/test/evaluate_helpers.js';
import { dspyUnavailable, servicesRequired } from '../../../dspex/test/support/dspy_reference.js';
import { KeyedLM, deferred } from '../../../dspex/test/teleprompt_helpers.js';

const unavailable = dspyUnavailable();
if (unavailable !== null && servicesRequired()) throw new Error(unavailable);
const withPython = unavailable === null ? describe : describe.skip;
const TEST_COMMANDS = fileURLToPath(new URL('../../../../python/tests', import.meta.url));

const ANSWERS = { 'capital of France': { answer: 'Paris' } };
/** The same answers in Python (DummyLM, dict mode) and natively (KeyedLM), so either side can answer. */
const PYTHON_LM = { dummy: ANSWERS };

class FailingLM implements LM {
  readonly model = 'failing';
  readonly defaults = {};
  calls = 0;
  constructor(private readonly error: () => Error) {}
  async call(): Promise<LMResponse> {
    this.calls++;
    throw this.error();
  }
}

function recordRoutes(router: Router): RouteEvent[] {
  const events: RouteEvent[] = [];
  router.telemetry.on('route', (event) => events.push(event));
  return events;
}

const pick = ({ side, reason, ok, code, fallbackFrom }: RouteEvent) => ({ side, reason, ok, ...(code ? { code } : {}), ...(fallbackFrom ? { fallbackFrom } : {}) });

let rt: Runtime;
beforeEach(() => void (rt = quietRuntime()));
afterEach(async () => void (await rt.shutdown(10_000)));

function pool(extra: Partial<Parameters<typeof startReadyPool>[1]> = {}): Promise<PythonPool> {
  return startReadyPool(rt, { name: `router-${Math.random().toString(36).slice(2, 8)}`, size: 1, ...extra });
}

withPython('Router fallback across sides', () => {
  it('falls back to Python when the native LM fails retryably (HTTP 503), then avoids the failing side', async () => {
    const router = new Router({ pool: await pool(), pythonLm: PYTHON_LM, minSamples: 2 });
    const events = recordRoutes(router);
    const lm = new FailingLM(() => new LMHttpError('openai', 503, 'upstream down'));
    const qa = router.module(withLm(new Predict('question -> answer'), lm));

    const first = await qa.call({ question: 'What is the capital of France?' });
    expect(first.get('answer')).toBe('Paris');
    expect(events.map(pick)).toEqual([
      { side: 'native', reason: 'preferred', ok: false, code: 'DSPEX_LM_HTTP' },
      { side: 'python', reason: 'fallback', ok: true, fallbackFrom: 'native' },
    ]);
    expect(events.every((e) => e.module === qa.name && e.latencyMs >= 0)).toBe(true);

    await qa.call({ question: 'What is the capital of France?' });
    // Two native failures in a row: the native error rate is over the limit, so Python is chosen directly.
    expect(router.decide(qa)).toEqual({ side: 'python', reason: 'native_error_rate' });
    const callsBefore = lm.calls;
    expect((await qa.call({ question: 'What is the capital of France?' })).get('answer')).toBe('Paris');
    expect(lm.calls).toBe(callsBefore);
    expect(pick(events.at(-1)!)).toEqual({ side: 'python', reason: 'native_error_rate', ok: true });
    router.close();
  }, 60_000);

  it('does not fall back on an error the other side would repeat (bad credentials)', async () => {
    const router = new Router({ pool: await pool(), pythonLm: PYTHON_LM });
    const events = recordRoutes(router);
    const qa = router.module(withLm(new Predict('question -> answer'), new FailingLM(() => new LMAuthError('openai', 401, 'bad key'))));
    await expect(qa.call({ question: 'What is the capital of France?' })).rejects.toBeInstanceOf(LMAuthError);
    expect(events.map(pick)).toEqual([{ side: 'native', reason: 'preferred', ok: false, code: 'DSPEX_LM_AUTH' }]);
    router.close();
  }, 60_000);

  it('answers natively when the Python pool is saturated: by fallback on PoolSaturated, and by health once it shows', async () => {
    const python = await pool({ callsPerWorker: 1, maxQueue: 1, python: { commands: ['bridge_test_commands'], env: { PYTHONPATH: TEST_COMMANDS } } });
    // `saturation: 2` hides the queue from this router's health, so it tries Python and meets PoolSaturated.
    const blind = new Router({ pool: python, pythonLm: PYTHON_LM, prefer: 'python', saturation: 2 });
    const watching = new Router({ pool: python, pythonLm: PYTHON_LM, prefer: 'python' });
    const events = recordRoutes(blind);
    const watched = recordRoutes(watching);
    const lm = new KeyedLM(ANSWERS);

    // Fill the pool: one call held in Python on a Node tool, one waiting in the queue.
    const gate = deferred();
    const holder = python.session('holder');
    holder.registerTool('hold', () => gate.promise.then(() => 'released'));
    const held = holder.call('ask_node', { name: 'hold', args: {} });
    const queued = python.call('ping', { queued: true });
    await new Promise<void>((resolve) => (watching.poolHealth!.queued >= 1 ? resolve() : python.telemetry.once('queue', () => resolve())));

    const viaFallback = await withSettings({ lm }, () => blind.module(new Predict('question -> answer')).call({ question: 'What is the capital of France?' }));
    expect(viaFallback.get('answer')).toBe('Paris');
    expect(events.map(pick)).toEqual([
      { side: 'python', reason: 'preferred', ok: false, code: 'DSPEX_POOL_SATURATED' },
      { side: 'native', reason: 'fallback', ok: true, fallbackFrom: 'python' },
    ]);

    const qa = watching.module(new Predict('question -> answer'));
    expect(watching.decide(qa)).toEqual({ side: 'native', reason: 'python_saturated' });
    expect((await withSettings({ lm }, () => qa.call({ question: 'What is the capital of France?' }))).get('answer')).toBe('Paris');
    expect(watched.map(pick)).toEqual([{ side: 'native', reason: 'python_saturated', ok: true }]);

    gate.resolve();
    expect(await held).toBe('released');
    expect(await queued).toEqual({ queued: true });
    blind.close();
    watching.close();
  }, 60_000);

  it('answers natively when the Python pool cannot start (a wrong configuration), and keeps to native by health', async () => {
    // A lazy pool whose command module does not exist: it starts, and its first call fails with WorkerStartupFailed.
    const python = await PythonPools.start(rt, { name: `router-broken-${Math.random().toString(36).slice(2, 8)}`, size: 1, start: 'lazy', python: { commands: ['no_such_dspex_command_module'] } });
    const router = new Router({ pool: python, pythonLm: PYTHON_LM, prefer: 'python' });
    const events = recordRoutes(router);
    const lm = new KeyedLM(ANSWERS);
    const qa = router.module(new Predict('question -> answer'));

    const answered = await withSettings({ lm }, () => qa.call({ question: 'What is the capital of France?' }));
    expect(answered.get('answer')).toBe('Paris');
    expect(events.map(pick)).toEqual([
      { side: 'python', reason: 'preferred', ok: false, code: 'DSPEX_WORKER_STARTUP_FAILED' },
      { side: 'native', reason: 'fallback', ok: true, fallbackFrom: 'python' },
    ]);
    // The failure blocks the pool for the router: the next call goes native without trying Python.
    expect(router.decide(qa)).toEqual({ side: 'native', reason: 'python_pool_down' });
    router.close();
  }, 60_000);

  it('runs DSPy modules DSPex lacks natively in Python, and native-only modules natively', async () => {
    const router = new Router({ pool: await pool(), pythonLm: PYTHON_LM });
    const events = recordRoutes(router);
    const pythonOnly = router.module({ name: 'py-qa', python: { class: 'dspy.Predict', args: ['question -> answer'] } });
    expect(router.decide(pythonOnly)).toEqual({ side: 'python', reason: 'only_python' });
    expect((await pythonOnly.call({ question: 'What is the capital of France?' })).get('answer')).toBe('Paris');
    expect(events.map(pick)).toEqual([{ side: 'python', reason: 'only_python', ok: true }]);

    const pot = router.module({ class: 'dspy.ProgramOfThought', args: ['question -> answer'] });
    expect(pot.native).toBeUndefined();
    expect(router.decide(pot)).toEqual({ side: 'python', reason: 'only_python' });
    const both = router.module({ class: 'dspy.ChainOfThought', args: ['question -> answer'] });
    expect(both.native).toBeDefined();
    expect(router.decide(both)).toEqual({ side: 'native', reason: 'preferred' });
    const agent = router.module(new ReAct('question -> answer', [function lookup(args: { q: string }) { return args.q; }]));
    expect(router.decide(agent)).toEqual({ side: 'native', reason: 'only_native' });
    router.close();
  }, 60_000);
});

describe('Router decisions from health and measurements', () => {
  const pythonStub = { call: async () => new Prediction({ answer: 'python' }) };

  it('follows the LM client circuit breaker from its lm_breaker events', () => {
    const lmEvents: LMTelemetry = new EventEmitter<LMTelemetryEvents>();
    const router = new Router({ lmClient: 'main', lmTelemetry: lmEvents });
    const qa = router.module({ native: new Predict('question -> answer'), python: pythonStub });
    expect(router.decide(qa)).toEqual({ side: 'native', reason: 'preferred' });
    lmEvents.emit('lm_breaker', { client: 'other', from: 'closed', to: 'open' });
    expect(router.decide(qa).reason).toBe('preferred');
    lmEvents.emit('lm_breaker', { client: 'main', from: 'closed', to: 'open' });
    expect(router.decide(qa)).toEqual({ side: 'python', reason: 'native_circuit_open' });
    lmEvents.emit('lm_breaker', { client: 'main', from: 'half_open', to: 'closed' });
    expect(router.decide(qa)).toEqual({ side: 'native', reason: 'preferred' });
    router.close();
  });

  it('moves to the faster side by EWMA latency, and forgives old errors', () => {
    let now = 0;
    const router = new Router({ now: () => now, minSamples: 3, latencyRatio: 3, errorHalfLifeMs: 1000, telemetry: new RouterTelemetry() });
    const qa = router.module({ native: new Predict('question -> answer'), python: pythonStub });
    for (let i = 0; i < 3; i++) {
      qa.stats.native.record(400, true, (now += 1));
      qa.stats.python.record(50, true, (now += 1));
    }
    expect(router.decide(qa)).toEqual({ side: 'python', reason: 'lower_latency' });
    for (let i = 0; i < 6; i++) qa.stats.native.record(40, true, (now += 1));
    expect(router.decide(qa)).toEqual({ side: 'native', reason: 'preferred' });
    for (let i = 0; i < 4; i++) qa.stats.native.record(40, false, (now += 1));
    expect(router.decide(qa)).toEqual({ side: 'python', reason: 'native_error_rate' });
    now += 2000; // two half-lives without native calls: its error rate is under the limit again
    expect(router.decide(qa)).toEqual({ side: 'native', reason: 'preferred' });
    router.close();
  });

  it('decides in well under 10 µs on a warm router', () => {
    const overhead = measureRouterOverhead(100_000);
    expect(overhead.decisions).toBeGreaterThanOrEqual(100_000);
    expect(overhead.withinBudget).toBe(true);
    expect(overhead.nsPerDecision).toBeLessThan(10_000);
  });
});

function withLm<M extends Predict>(module: M, lm: LM): M {
  module.lm = lm;
  return module;
}
