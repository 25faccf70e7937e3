// evaluate(program, devset, metric, options): DSPy's Evaluate on the runtime. Examples run in tasks under a
// TaskSupervisor (workers.ts: bounded concurrency, a per-example timeout that kills the task running it),
// every devset item ends as exactly one result, and the score is DSPy's round(100 * sum / n, 2).

import type { Caller } from '@dspex/runtime';
import type { Example, Fields } from '../primitives/example.js';
import type { Prediction } from '../primitives/prediction.js';
import { traceEvaluation } from '../tracing/module_span.js';
import { EmptyDevsetError, EvaluateConfigError, EvaluationCancelled, MaxErrorsExceeded } from './errors.js';
import { writeResults } from './output.js';
import { ProgressDisplay } from './progress.js';
import { metricNameOf, type EvaluationResult } from './result.js';
import { EvaluationReporter } from './reporter.js';
import { runExample, type ExampleContext } from './run_example.js';
import { superviseExamples } from './supervised_run.js';
import { EvaluationTally } from './tally.js';
import { evaluateTelemetry, type EvaluateOptions, type Metric, type Program } from './types.js';
import { chosenRuntime, withWorkRuntime } from './work_runtime.js';

/** Examples evaluated at once when `concurrency` is not given. */
export const DEFAULT_CONCURRENCY = 16;
/** dspy.settings.max_errors. */
export const DEFAULT_MAX_ERRORS = 10;

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
  if (options.supervisor !== undefined && chosenRuntime(options.runtime) === undefined) {
    throw new EvaluateConfigError('options.supervisor is a process of a runtime: pass that runtime as options.runtime too (or configure({ runtime })).');
  }
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

/** The evaluation itself, once for loose records: check, run under supervision, tally, report, write. */
async function evaluateLoose(program: Program, devset: readonly Example[], metric: Metric, options: EvaluateOptions): Promise<EvaluationResult> {
  const { concurrency, maxErrors, failureScore, timeoutMs } = check(devset, metric, options);
  const tally = new EvaluationTally(devset);
  if (options.signal?.aborted === true) throw new EvaluationCancelled(tally.partial(), options.signal.reason);
  const now = options.now ?? (() => performance.now());
  const reporter = new EvaluationReporter(options.telemetry ?? evaluateTelemetry, devset.length, failureScore);
  const output = options.output ?? process.stdout;
  const progress = options.displayProgress === true ? new ProgressDisplay({ output, now, intervalMs: options.progressIntervalMs ?? 5000, redrawMs: options.redrawIntervalMs ?? 100 }) : undefined;
  const ctx: ExampleContext = {
    program,
    metric,
    now,
    onRetry: (index, error) => {
      tally.retried++;
      reporter.retried(index, error);
    },
  };

  let startedAt = 0;
  const run = (caller: Caller) =>
    superviseExamples(
      { caller, supervisor: options.supervisor, total: devset.length, concurrency, timeoutMs, signal: options.signal, run: (index, signal) => runExample(index, devset[index]!, ctx, signal) },
      {
        started: () => {
          reporter.started(concurrency);
          startedAt = now();
        },
        take: (outcome) => {
          const failure = tally.record(outcome);
          if (failure === 'seen') return 'seen';
          reporter.finished(outcome, failure, tally.state.done);
          progress?.update(tally.state);
          return tally.state.failed >= maxErrors && tally.state.failed > 0 ? 'max_errors' : 'continue';
        },
        ended: () => progress?.finish(tally.state),
      },
    );
  const stopped = await withWorkRuntime(options.runtime, run);
  if (stopped !== undefined) {
    reporter.stopped(stopped, tally.state.done);
    throw stopped === 'cancelled' ? new EvaluationCancelled(tally.partial(), options.signal?.reason) : new MaxErrorsExceeded(maxErrors, tally.partial());
  }

  const result = tally.result(failureScore, now() - startedAt);
  reporter.done(result);
  await writeResults(result.results, metricNameOf(metric, options.metricName), output, options);
  return result;
}
