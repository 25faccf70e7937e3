// evaluate(program, devset, metric, options): DSPy's Evaluate on the runtime. Examples run in tasks under a
// TaskSupervisor (workers.ts: bounded concurrency, a per-example timeout that kills the task running it),
// every devset item ends as exactly one result, and the score is DSPy's round(100 * sum / n, 2).

import { DynamicSupervisor, Runtime, TaskSupervisor, type Caller, type Dest } from '@dspex/runtime';
import type { Example, Fields } from '../primitives/example.js';
import { Prediction } from '../primitives/prediction.js';
import { EmptyDevsetError, EvaluateConfigError, EvaluationCancelled, ExampleCancelled, ExampleTaskExit, ExampleTimeout, MaxErrorsExceeded, type PartialEvaluation } from './errors.js';
import { ProgressDisplay } from './progress.js';
import { pyRound } from './py_round.js';
import { EvaluationResult, metricNameOf, resultRecords } from './result.js';
import { errorCode, runExample, type ExampleContext, type ExampleOutcome } from './run_example.js';
import { saveResults } from './save.js';
import { renderTable } from './table.js';
import { ExampleWorkers } from './workers.js';
import { evaluateTelemetry, type EvaluateOptions, type EvaluationRow, type ExampleFailure, type Metric, type Program } from './types.js';
import { traceEvaluation } from '../tracing/module_span.js';

/** Examples evaluated at once when `concurrency` is not given. */
export const DEFAULT_CONCURRENCY = 16;
/** dspy.settings.max_errors. */
export const DEFAULT_MAX_ERRORS = 10;

let sharedRuntime: Runtime | undefined;

/** The runtime evaluations use when none is passed: made on first use, idle when nothing runs. */
export function defaultEvaluateRuntime(): Runtime {
  return (sharedRuntime ??= new Runtime());
}

let evaluationCounter = 0;

interface Checked {
  concurrency: number;
  maxErrors: number;
  failureScore: number;
  timeoutMs: number;
}

function check(devset: readonly Example[], metric: Metric, options: EvaluateOptions): Checked {
  if (!Array.isArray(devset)) throw new EvaluateConfigError('devset must be an array of Examples.');
  if (devset.length === 0) throw new EmptyDevsetError();
  if (typeof metric !== 'function') throw new EvaluateConfigError('metric must be a function (example, prediction) => number | boolean.');
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new EvaluateConfigError(`concurrency must be a positive integer, not ${String(concurrency)}.`);
  const maxErrors = options.maxErrors ?? DEFAULT_MAX_ERRORS;
  if (typeof maxErrors !== 'number' || Number.isNaN(maxErrors) || maxErrors < 0) throw new EvaluateConfigError(`maxErrors must be a non-negative number, not ${String(maxErrors)}.`);
  const failureScore = options.failureScore ?? 0;
  if (typeof failureScore !== 'number' || !Number.isFinite(failureScore)) throw new EvaluateConfigError(`failureScore must be a finite number, not ${String(failureScore)}.`);
  const timeoutMs = options.timeoutMs ?? Infinity;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new EvaluateConfigError(`timeoutMs must be a positive number of ms, not ${String(timeoutMs)}.`);
  return { concurrency, maxErrors, failureScore, timeoutMs };
}

/**
 * Runs `program` on every example of `devset` and scores it with `metric`. Resolves to DSPy's result shape.
 * Rejects with EmptyDevsetError or EvaluateConfigError before starting, MaxErrorsExceeded once `maxErrors`
 * examples failed, EvaluationCancelled when `signal` aborts (both carry the partial results); a failure to
 * write saveAsJson/saveAsCsv rejects with the file system's error.
 */
export async function evaluate<O extends Fields = Fields, E extends Example = Example>(
  program: Program<O>,
  devset: readonly E[],
  metric: Metric<E, Prediction<O>>,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  // The typed metric runs on the same objects; the engine below is written once, for loose records.
  return traceEvaluation(program, devset.length, () => evaluateLoose(program as Program, devset, metric as Metric, options));
}

async function evaluateLoose(program: Program, devset: readonly Example[], metric: Metric, options: EvaluateOptions): Promise<EvaluationResult> {
  const { concurrency, maxErrors, failureScore, timeoutMs } = check(devset, metric, options);
  const total = devset.length;
  const now = options.now ?? (() => performance.now());
  const telemetry = options.telemetry ?? evaluateTelemetry;
  const evaluation = `eval-${++evaluationCounter}`;
  const userSignal = options.signal;
  const cancelled = (): boolean => userSignal?.aborted === true;
  const outcomes = new Array<ExampleOutcome | undefined>(total);
  const failures: ExampleFailure[] = [];
  const partial = (): PartialEvaluation => ({
    completed: outcomes.flatMap((o) => (o?.ok === true ? [{ index: o.index, row: [devset[o.index]!, o.prediction, o.score] as EvaluationRow }] : [])),
    failures: [...failures].sort((a, b) => a.index - b.index),
  });
  if (cancelled()) throw new EvaluationCancelled(partial(), userSignal?.reason);

  const caller: Caller = options.runtime ?? defaultEvaluateRuntime();
  const output = options.output ?? process.stdout;
  const progress = options.displayProgress === true ? new ProgressDisplay({ output, now, intervalMs: options.progressIntervalMs ?? 5000, redrawMs: options.redrawIntervalMs ?? 100 }) : undefined;
  const state = { done: 0, total, failed: 0, scoreSum: 0, scored: 0 };
  let retried = 0;
  let stopReason: unknown;
  let stopping = false;
  let workers: ExampleWorkers | undefined;
  /** Aborts every running example: on cancellation, on maxErrors, and at the end. */
  const stopAll = (reason: unknown): void => {
    if (!stopping) (stopping = true), (stopReason = reason);
    workers?.stop(reason);
  };
  const forward = (): void => stopAll(userSignal?.reason);
  userSignal?.addEventListener('abort', forward, { once: true });

  const ctx: ExampleContext = {
    program,
    metric,
    now,
    onRetry: (index, error) => {
      retried++;
      if (telemetry.listenerCount('eval_retry') > 0) telemetry.emit('eval_retry', { evaluation, index, code: errorCode(error), message: error.message });
    },
  };
  /** An example whose task died under it (killed at its timeout, crashed, or stopped with the evaluation). */
  const lostOutcome = (index: number, reason: unknown): ExampleOutcome & { ok: false } => {
    const error = reason === 'timeout' ? new ExampleTimeout(index, timeoutMs) : stopping ? new ExampleCancelled(index, stopReason ?? reason) : new ExampleTaskExit(index, reason);
    return { index, ok: false, error, attempts: 1, durationMs: 0 };
  };

  let supervisor: Dest | undefined = options.supervisor;
  let ownSupervisor = false;
  if (supervisor === undefined) {
    const started = await TaskSupervisor.start(caller);
    if (!('ok' in started)) throw new EvaluateConfigError(`the evaluation's TaskSupervisor did not start: ${JSON.stringify(started)}`);
    supervisor = started.ok;
    ownSupervisor = true;
  }
  telemetry.emit('eval_start', { evaluation, total, concurrency });
  const startedAt = now();
  let stopped: 'max_errors' | 'cancelled' | undefined;
  try {
    workers = new ExampleWorkers({
      caller,
      supervisor,
      total,
      concurrency,
      timeoutMs,
      run: (index, signal) => runExample(index, devset[index]!, ctx, signal),
      lost: lostOutcome,
    });
    if (stopping) workers.stop(stopReason);
    for await (const outcome of workers.outcomes()) {
      if (cancelled() && !outcome.ok) {
        stopped = 'cancelled';
        break;
      }
      if (outcomes[outcome.index] !== undefined) continue;
      outcomes[outcome.index] = outcome;
      state.done++;
      if (outcome.ok) {
        state.scoreSum += outcome.score;
        state.scored++;
      } else {
        state.failed++;
        const failure: ExampleFailure = { index: outcome.index, error: outcome.error, code: errorCode(outcome.error), attempts: outcome.attempts };
        failures.push(failure);
        if (telemetry.listenerCount('eval_error') > 0) telemetry.emit('eval_error', { evaluation, index: failure.index, code: failure.code, message: failure.error.message, attempts: failure.attempts });
      }
      if (telemetry.listenerCount('eval_example') > 0) {
        const score = outcome.ok ? outcome.score : failureScore;
        telemetry.emit('eval_example', { evaluation, index: outcome.index, ok: outcome.ok, score, attempts: outcome.attempts, durationMs: outcome.durationMs, done: state.done, total });
      }
      progress?.update(state);
      if (cancelled()) stopped = 'cancelled';
      else if (state.failed >= maxErrors && state.failed > 0) stopped = 'max_errors';
      if (stopped !== undefined) break;
    }
  } finally {
    stopAll(undefined);
    userSignal?.removeEventListener('abort', forward);
    progress?.finish(state);
    if (ownSupervisor) await DynamicSupervisor.stop(caller, supervisor, 'shutdown').catch(() => undefined);
  }
  if (stopped !== undefined) {
    telemetry.emit('eval_stopped', { evaluation, why: stopped, done: state.done, total });
    throw stopped === 'cancelled' ? new EvaluationCancelled(partial(), userSignal?.reason) : new MaxErrorsExceeded(maxErrors, partial());
  }

  const elapsedMs = now() - startedAt;
  const rows: EvaluationRow[] = devset.map((example, index) => {
    const outcome = outcomes[index];
    if (outcome?.ok === true) return [example, outcome.prediction, outcome.score];
    return [example, new Prediction(), failureScore];
  });
  let ncorrect = 0;
  for (const row of rows) ncorrect += row[2];
  const score = pyRound((100 * ncorrect) / total, 2);
  const examplesPerSecond = elapsedMs > 0 ? (total * 1000) / elapsedMs : 0;
  telemetry.emit('eval_done', { evaluation, score, total, failed: failures.length, elapsedMs, examplesPerSecond });

  const metricName = metricNameOf(metric, options.metricName);
  // Python's `if display_table:`: true or a positive row count (0 shows nothing).
  if (options.displayTable === true || (typeof options.displayTable === 'number' && options.displayTable > 0)) output.write(renderTable(resultRecords(rows, metricName), metricName, options.displayTable));
  if (options.saveAsJson !== undefined) await saveResults(options.saveAsJson, resultRecords(rows, metricName), 'json');
  if (options.saveAsCsv !== undefined) await saveResults(options.saveAsCsv, resultRecords(rows, metricName), 'csv');
  failures.sort((a, b) => a.index - b.index);
  return new EvaluationResult(score, rows, failures, { failed: failures.length, retried, elapsedMs, examplesPerSecond });
}
