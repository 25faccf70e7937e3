// The runtime evaluate() and BootstrapFewShot run their tasks on: options.runtime, else settings.runtime
// (configure / withSettings), else a runtime of the call's own that is shut down before its promise settles,
// whether it resolves, rejects at maxErrors or is cancelled: nothing of it is left running afterwards.

import { Runtime } from '@dspex/runtime';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EvaluateConfigError, EvaluationCancelled, MaxErrorsExceeded, evaluate } from '../src/evaluate/index.js';
import { configure, resetSettings, withSettings } from '../src/program/settings.js';
import { BootstrapFewShot } from '../src/teleprompt/index.js';
import { EvaluateTelemetry, ScriptedChatLM, deferred, exactMatch, mathDevset, nextEvalEvent, qaProgram, quietRuntime } from './evaluate_helpers.js';
import { KeyedLM, arithmetic, buildProgram, exactMetric } from './teleprompt_helpers.js';

// The runtimes made by evaluate() itself log as a default Runtime does (DSPEX_LOG_LEVEL); the cancelled tasks'
// supervisor reports are expected here.
process.env.DSPEX_LOG_LEVEL ??= 'silent';

const owned: Runtime[] = [];
function ownRuntime(): Runtime {
  const rt = quietRuntime();
  owned.push(rt);
  return rt;
}

afterEach(async () => {
  vi.restoreAllMocks();
  resetSettings();
  await Promise.all(owned.splice(0).map((rt) => rt.shutdown()));
});

/** What keeps the event loop alive (timers, immediates, handles), counted by kind. */
function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/** The kinds of which more are active now than in `before` (the test runner's own come and go, never more). */
function addedSince(before: Map<string, number>): string[] {
  return [...activeResources()].filter(([kind, count]) => count > (before.get(kind) ?? 0)).map(([kind]) => kind);
}

/** Watches every Runtime: the ones that spawned a process, and the ones shut down. */
function watchRuntimes() {
  const spawn = vi.spyOn(Runtime.prototype, 'spawn');
  const shutdown = vi.spyOn(Runtime.prototype, 'shutdown');
  return {
    /** Runtimes that spawned a process since the last call, other than `except`. */
    spawnedOn(except: readonly Runtime[] = []): Runtime[] {
      const runtimes = new Set(spawn.mock.contexts as Runtime[]);
      spawn.mockClear();
      return [...runtimes].filter((rt) => !except.includes(rt));
    },
    wasShutDown: (rt: Runtime): boolean => (shutdown.mock.contexts as Runtime[]).includes(rt),
  };
}

/** An LM whose calls wait for `release` (or their abort); `started` resolves once `count` calls are waiting. */
function heldLM(count: number) {
  const release = deferred();
  const started = deferred();
  let waiting = 0;
  const lm = new ScriptedChatLM(async (question) => {
    if (++waiting === count) started.resolve();
    await release.promise;
    return String(Number(/What is (\d+)/.exec(question)![1]) + 1);
  });
  return { lm, release: () => release.resolve(), started: started.promise };
}

describe('the runtime of an evaluation', () => {
  it('given none, is one of its own, shut down before the evaluation settles: resolved, at maxErrors, or cancelled', async () => {
    const before = activeResources();
    const runtimes = watchRuntimes();

    const result = await evaluate(qaProgram(new ScriptedChatLM()), mathDevset(4), exactMatch, { concurrency: 2, timeoutMs: 60_000 });
    expect(result.score).toBe(100);
    const [first, ...others] = runtimes.spawnedOn();
    expect(others).toEqual([]);
    expect(runtimes.wasShutDown(first!)).toBe(true);
    expect(first!.processCount).toBe(0);

    const failing = new ScriptedChatLM(() => Promise.reject(new Error('provider down')));
    await expect(evaluate(qaProgram(failing), mathDevset(6), exactMatch, { maxErrors: 2, concurrency: 1 })).rejects.toBeInstanceOf(MaxErrorsExceeded);
    const [second] = runtimes.spawnedOn();
    expect(second).not.toBe(first);
    expect(runtimes.wasShutDown(second!)).toBe(true);
    expect(second!.processCount).toBe(0);

    const held = heldLM(3);
    const controller = new AbortController();
    const running = evaluate(qaProgram(held.lm), mathDevset(8), exactMatch, { concurrency: 3, timeoutMs: 60_000, signal: controller.signal });
    await held.started;
    const [third] = runtimes.spawnedOn();
    expect(third!.processCount).toBeGreaterThan(0); // the example tasks and their supervisor run on it
    controller.abort();
    await expect(running).rejects.toBeInstanceOf(EvaluationCancelled);
    expect(runtimes.wasShutDown(third!)).toBe(true);
    expect(third!.processCount).toBe(0);

    // No per-example timer, supervisor or scheduler work is left to keep the process alive.
    expect(addedSince(before)).toEqual([]);
  });

  it('is settings.runtime when the call passes none (configure or withSettings), which is used and left running', async () => {
    const rt = ownRuntime();
    const runtimes = watchRuntimes();
    configure({ runtime: rt });
    const held = heldLM(2);
    const telemetry = new EvaluateTelemetry();
    const done = nextEvalEvent(telemetry, 'eval_done');
    const running = evaluate(qaProgram(held.lm), mathDevset(4), exactMatch, { concurrency: 2, telemetry });
    await held.started;
    expect(rt.processCount).toBeGreaterThanOrEqual(3); // a TaskSupervisor and two example workers
    held.release();
    expect((await running).score).toBe(100);
    await done;
    expect(runtimes.spawnedOn()).toEqual([rt]);
    expect(runtimes.wasShutDown(rt)).toBe(false);
    expect(rt.processCount).toBe(0);

    resetSettings();
    const scoped = ownRuntime();
    const result = await withSettings({ runtime: scoped }, () => evaluate(qaProgram(new ScriptedChatLM()), mathDevset(2), exactMatch));
    expect(result.score).toBe(100);
    expect(runtimes.spawnedOn()).toEqual([scoped]);
  });

  it('is options.runtime over settings.runtime', async () => {
    const fromSettings = ownRuntime();
    const fromOptions = ownRuntime();
    const runtimes = watchRuntimes();
    await withSettings({ runtime: fromSettings }, () => evaluate(qaProgram(new ScriptedChatLM()), mathDevset(3), exactMatch, { runtime: fromOptions }));
    expect(runtimes.spawnedOn()).toEqual([fromOptions]);
  });

  it('refuses a supervisor without the runtime it lives on, before running anything', async () => {
    const runtimes = watchRuntimes();
    await expect(evaluate(qaProgram(new ScriptedChatLM()), mathDevset(1), exactMatch, { supervisor: 'some.supervisor' })).rejects.toBeInstanceOf(EvaluateConfigError);
    expect(runtimes.spawnedOn()).toEqual([]);
  });
});

describe('the runtime of BootstrapFewShot', () => {
  it('given none, is one of its own, shut down before compile settles, also when it stops early or fails', async () => {
    const before = activeResources();
    const runtimes = watchRuntimes();
    const { answers, trainset } = arithmetic(8, () => false);
    const lm = new KeyedLM(answers);

    // One demo is enough: the walk stops after the first example while others are bootstrapping.
    const compiled = await withSettings({ lm }, () => new BootstrapFewShot({ metric: exactMetric('answer'), maxBootstrappedDemos: 1, concurrency: 4 }).compile(buildProgram('predict'), { trainset }));
    expect(compiled._compiled).toBe(true);
    const [first, ...others] = runtimes.spawnedOn();
    expect(others).toEqual([]);
    expect(runtimes.wasShutDown(first!)).toBe(true);
    expect(first!.processCount).toBe(0);

    const unanswered = new KeyedLM({});
    await expect(withSettings({ lm: unanswered }, () => new BootstrapFewShot({ maxErrors: 2, concurrency: 2 }).compile(buildProgram('predict'), { trainset }))).rejects.toMatchObject({ code: 'DSPEX_BOOTSTRAP_MAX_ERRORS' });
    const [second] = runtimes.spawnedOn();
    expect(runtimes.wasShutDown(second!)).toBe(true);
    expect(second!.processCount).toBe(0);

    expect(addedSince(before)).toEqual([]);
  });

  it('is settings.runtime when no runtime option is given, over which the examples run as tasks', async () => {
    const rt = ownRuntime();
    const runtimes = watchRuntimes();
    const { answers, trainset } = arithmetic(4, () => false);
    const open = deferred();
    const twoRunning = deferred();
    const lm = new KeyedLM(answers, (inFlight) => {
      if (inFlight === 2) twoRunning.resolve();
      return open.promise;
    });
    const compiling = withSettings({ lm, runtime: rt }, () => new BootstrapFewShot({ metric: exactMetric('answer'), maxBootstrappedDemos: 4, concurrency: 2 }).compile(buildProgram('predict'), { trainset }));
    await twoRunning.promise;
    expect(rt.processCount).toBeGreaterThanOrEqual(2); // a task per example in flight
    open.resolve();
    await compiling;
    expect(runtimes.spawnedOn()).toEqual([rt]);
    expect(runtimes.wasShutDown(rt)).toBe(false);

    const fromOptions = ownRuntime();
    await withSettings({ lm, runtime: rt }, () => new BootstrapFewShot({ metric: exactMetric('answer'), concurrency: 2, runtime: fromOptions }).compile(buildProgram('predict'), { trainset }));
    expect(runtimes.spawnedOn()).toEqual([fromOptions]);
  });
});
