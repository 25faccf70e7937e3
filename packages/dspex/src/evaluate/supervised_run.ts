// The supervised run of an evaluation: the example workers under a TaskSupervisor (the caller's, or one started
// here and stopped at the end), the caller's AbortSignal forwarded to every running example, and the outcomes
// handed on as they finish until every example is done, the evaluation is cancelled, or maxErrors is reached.

import { DynamicSupervisor, TaskSupervisor, type Caller, type Dest } from '@dspex/runtime';
import { EvaluateConfigError, ExampleCancelled, ExampleTaskExit, ExampleTimeout } from './errors.js';
import type { ExampleOutcome } from './run_example.js';
import { ExampleWorkers } from './workers.js';

/** Why a run ended before every example finished. */
export type StopReason = 'max_errors' | 'cancelled';

/** What to run and where. */
export interface SupervisedRunPlan {
  caller: Caller;
  /** A running TaskSupervisor; undefined starts one for this run. */
  supervisor: Dest | undefined;
  total: number;
  concurrency: number;
  timeoutMs: number;
  /** The caller's cancellation. */
  signal: AbortSignal | undefined;
  /** Runs example `index` (never rejects); `signal` aborts when the example is stopped. */
  run: (index: number, signal: AbortSignal) => Promise<ExampleOutcome>;
}

/** What the run tells its consumer. */
export interface SupervisedRunHooks {
  /** The supervisor is up and the first examples are about to start. */
  started(): void;
  /** One finished example: 'seen' when its index already had an outcome, 'max_errors' to stop the run. */
  take(outcome: ExampleOutcome): 'seen' | 'max_errors' | 'continue';
  /** The run is over and its examples stopped (called before an own supervisor is stopped). */
  ended(): void;
}

/** Runs the examples; resolves to why it stopped early, or undefined when every example finished. */
export async function superviseExamples(plan: SupervisedRunPlan, hooks: SupervisedRunHooks): Promise<StopReason | undefined> {
  const { caller, signal } = plan;
  const cancelled = (): boolean => signal?.aborted === true;
  let stopReason: unknown;
  let stopping = false;
  let workers: ExampleWorkers | undefined;
  /** Aborts every running example: on cancellation, on maxErrors, and at the end. */
  const stopAll = (reason: unknown): void => {
    if (!stopping) (stopping = true), (stopReason = reason);
    workers?.stop(reason);
  };
  const forward = (): void => stopAll(signal?.reason);
  /** An example whose task died under it (killed at its timeout, crashed, or stopped with the evaluation). */
  const lost = (index: number, reason: unknown): ExampleOutcome & { ok: false } => {
    const error = reason === 'timeout' ? new ExampleTimeout(index, plan.timeoutMs) : stopping ? new ExampleCancelled(index, stopReason ?? reason) : new ExampleTaskExit(index, reason);
    return { index, ok: false, error, attempts: 1, durationMs: 0 };
  };

  signal?.addEventListener('abort', forward, { once: true });
  // An abort while the evaluation was starting (its own runtime being made) fired no event here: stop at once.
  if (cancelled()) stopAll(signal?.reason);
  let ownSupervisor: Dest | undefined;
  try {
    const supervisor = plan.supervisor ?? (ownSupervisor = await startTaskSupervisor(caller));
    hooks.started();
    try {
      workers = new ExampleWorkers({ caller, supervisor, total: plan.total, concurrency: plan.concurrency, timeoutMs: plan.timeoutMs, run: plan.run, lost });
      if (stopping) workers.stop(stopReason);
      for await (const outcome of workers.outcomes()) {
        if (cancelled() && !outcome.ok) return 'cancelled';
        const verdict = hooks.take(outcome);
        if (verdict === 'seen') continue;
        if (cancelled()) return 'cancelled';
        if (verdict === 'max_errors') return 'max_errors';
      }
      // The workers end early only when stopped: cancelled with no example running.
      return cancelled() ? 'cancelled' : undefined;
    } finally {
      stopAll(undefined);
      hooks.ended();
    }
  } finally {
    signal?.removeEventListener('abort', forward);
    if (ownSupervisor !== undefined) await DynamicSupervisor.stop(caller, ownSupervisor, 'shutdown').catch(() => undefined);
  }
}

async function startTaskSupervisor(caller: Caller): Promise<Dest> {
  const started = await TaskSupervisor.start(caller);
  if (!('ok' in started)) throw new EvaluateConfigError(`the evaluation's TaskSupervisor did not start: ${JSON.stringify(started)}`);
  return started.ok;
}
