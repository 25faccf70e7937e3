// The shapes Evaluate works with: what it runs (a Program: a native Module, a pythonProgram adapter, anything
// with call()), the metric, its options, one row of results, and its telemetry events. Kept structural so a
// native Predict and a Python program in a pool are measured through the same door.

import type { Caller, Dest } from '@dspex/runtime';
import { EventEmitter } from 'eventemitter3';
import type { Example } from '../primitives/example.js';
import type { Prediction, PredictionRecord } from '../primitives/prediction.js';

export type Inputs = Record<string, unknown>;

/** What `evaluate` passes a program per example: an AbortSignal fired on timeout or cancel. */
export interface ProgramCallOptions {
  /** Aborted when the example times out or the evaluation is cancelled or stopped. */
  signal?: AbortSignal;
  /**
   * This call may be repeated safely (overrides the program's `idempotent`): a routed module retries it once when
   * its Python worker died. Default: the program's.
   */
  idempotent?: boolean;
}

/** What Evaluate runs. `Module` satisfies it; so does `pythonProgram(session, handle)`. O: its output fields. */
export interface Program<O extends Record<string, unknown> = Record<string, unknown>> {
  call(inputs: Inputs, options?: ProgramCallOptions): Promise<Prediction<O>>;
  /** A call may be repeated safely: an example whose Python worker died is retried once. Default false. */
  readonly idempotent?: boolean;
}

/**
 * The programs an evaluation typed for outputs `O` takes: those with outputs O, or any program at all when O is
 * loose — `Fields`, or the Prediction class itself, which is what a metric annotated `(e: Example, p: Prediction)`
 * makes O — typed ones included (a `Program<{ answer: string }>` is a loose program too).
 */
export type ProgramFor<O extends Record<string, unknown>> = Record<string, unknown> extends O ? LooseProgram : O extends PredictionRecord ? LooseProgram : Program<O>;

/** Any program: what a loose evaluation takes. */
interface LooseProgram {
  call(inputs: Inputs, options?: ProgramCallOptions): Promise<Prediction>;
  readonly idempotent?: boolean;
}

/** What a metric returns: a score or a pass/fail. */
export type MetricValue = number | boolean;

/** DSPy's metric(example, prediction, trace=None): a number, or a bool counted as 1 / 0. */
export type Metric<E = Example, P = Prediction> = (example: E, prediction: P, trace?: unknown) => MetricValue | Promise<MetricValue>;

/** DSPy's (example, prediction, score) tuple. A failed example has an empty Prediction and the failure score. */
export type EvaluationRow = readonly [example: Example, prediction: Prediction, score: number];

/** One example that failed: its devset index, the error (typed: LM, bridge, metric, timeout), and tries made. */
export interface ExampleFailure {
  readonly index: number;
  readonly error: Error;
  /** The error's `code` when it has one, else its name. */
  readonly code: string;
  readonly attempts: number;
}

/** Where the progress bar and the table are written (process.stdout by default; tests pass their own). */
export interface OutputStream {
  write(text: string): unknown;
  /** A terminal gets a bar redrawn in place; anything else gets plain lines. */
  readonly isTTY?: boolean;
  /** Terminal width, for the bar (default 80). */
  readonly columns?: number;
}

/** Options of `evaluate`: concurrency, per-example timeout, maxErrors, failure score, progress and table display, saving, signal. */
export interface EvaluateOptions {
  /**
   * The runtime (or the process) the example tasks run under. Default: settings.runtime (`configure({ runtime })`),
   * else a runtime made for this evaluation and shut down before its promise settles.
   */
  runtime?: Caller;
  /**
   * A running TaskSupervisor to start the example tasks under, a process of `runtime` (or of settings.runtime):
   * one of them must be set. Default: one started for this evaluation and stopped at its end.
   */
  supervisor?: Dest;
  /** Examples in flight at once (DSPy's num_threads). Default 16. */
  concurrency?: number;
  /** Per-example limit in ms; a slower example is cancelled and counted as an error. Default none. */
  timeoutMs?: number;
  /** Stop (and reject with MaxErrorsExceeded) once this many examples failed. Default 10, as dspy.settings.max_errors. */
  maxErrors?: number;
  /** The score of a failed example (DSPy's failure_score). Default 0. */
  failureScore?: number;
  /** Cancels the evaluation: running examples are aborted and it rejects with EvaluationCancelled. */
  signal?: AbortSignal;
  displayProgress?: boolean;
  /** true: a table of every result at the end; a number: of the first n rows. */
  displayTable?: boolean | number;
  output?: OutputStream;
  /** Minimum time between two progress lines when the output is not a terminal. Default 5000 ms. */
  progressIntervalMs?: number;
  /** Minimum time between two redraws of the bar on a terminal. Default 100 ms. */
  redrawIntervalMs?: number;
  /** Writes every result as JSON (DSPy's save_as_json layout). */
  saveAsJson?: string;
  /** Writes every result as CSV (DSPy's save_as_csv layout, RFC 4180 quoting). */
  saveAsCsv?: string;
  /** The column name of the score in tables and files. Default: the metric function's name. */
  metricName?: string;
  /** Where events go (default: the shared evaluateTelemetry bus). */
  telemetry?: EvaluateTelemetry;
  /** Time source for rates and progress throttling (default performance.now). */
  now?: () => number;
}

/** Each evaluation telemetry event with its payload. */
export interface EvaluateTelemetryEvents {
  eval_start: [event: { evaluation: string; total: number; concurrency: number }];
  /** One example finished, scored or failed. `done` counts every finished example so far. */
  eval_example: [event: { evaluation: string; index: number; ok: boolean; score: number; attempts: number; durationMs: number; done: number; total: number }];
  /** An example failed (after its retry, if any); it gets the failure score. */
  eval_error: [event: { evaluation: string; index: number; code: string; message: string; attempts: number }];
  /** An idempotent example lost its Python worker and is tried once more. */
  eval_retry: [event: { evaluation: string; index: number; code: string; message: string }];
  eval_done: [event: { evaluation: string; score: number; total: number; failed: number; elapsedMs: number; examplesPerSecond: number }];
  eval_stopped: [event: { evaluation: string; why: 'max_errors' | 'cancelled'; done: number; total: number }];
}

/** An evaluation's event emitter (each example's outcome, retries, progress). */
export class EvaluateTelemetry extends EventEmitter<EvaluateTelemetryEvents> {}

/** The default bus every evaluation reports to unless given its own. */
export const evaluateTelemetry = new EvaluateTelemetry();
