// Typed errors of Evaluate. An evaluation that stops early (too many errors, cancelled) rejects with an
// error that carries what was measured so far; one example's failure is recorded, not thrown, and its own
// error (an LM error, a bridge error, a metric's throw) passes through untouched as that record's cause.

import { DSPexError } from '@dspex/runtime';
import type { EvaluationRow, ExampleFailure } from './types.js';

/** The stable codes of evaluation errors. */
export type EvaluateErrorCode =
  | 'DSPEX_EVAL_CONFIG'
  | 'DSPEX_EVAL_EMPTY_DEVSET'
  | 'DSPEX_EVAL_MAX_ERRORS'
  | 'DSPEX_EVAL_CANCELLED'
  | 'DSPEX_EVAL_EXAMPLE_TIMEOUT'
  | 'DSPEX_EVAL_EXAMPLE_CANCELLED'
  | 'DSPEX_EVAL_TASK_EXIT';

/** Base class of evaluation errors (too many failures, cancelled...); each has a stable `code`. */
export abstract class EvaluateError extends DSPexError {
  abstract override readonly code: EvaluateErrorCode;
}

/** Options Evaluate cannot accept (a bad concurrency, a metric that is not a function, ...). */
export class EvaluateConfigError extends EvaluateError {
  readonly code = 'DSPEX_EVAL_CONFIG';
}

/** DSPy raises ValueError for an empty devset; so do we. */
export class EmptyDevsetError extends EvaluateError {
  readonly code = 'DSPEX_EVAL_EMPTY_DEVSET';
  constructor() {
    super('devset must contain at least one example, got an empty devset.');
  }
}

/** What an evaluation that stopped early had finished: completed rows (devset index order) and failures. */
export interface PartialEvaluation {
  readonly completed: ReadonlyArray<{ index: number; row: EvaluationRow }>;
  readonly failures: readonly ExampleFailure[];
}

/** The number of failed examples reached maxErrors (DSPy: "Execution cancelled due to errors or interruption."). */
export class MaxErrorsExceeded extends EvaluateError {
  readonly code = 'DSPEX_EVAL_MAX_ERRORS';
  constructor(readonly maxErrors: number, readonly partial: PartialEvaluation) {
    const first = partial.failures[0];
    super(
      `Evaluation stopped: ${partial.failures.length} examples failed (maxErrors ${maxErrors}); running examples were cancelled. ` +
        `First failure (example ${first?.index ?? '?'}): ${first?.error.message ?? 'unknown'}. Fix the program, or raise maxErrors.`,
      first === undefined ? undefined : { cause: first.error },
    );
  }
}

/** The caller's AbortSignal fired: running examples were cancelled, no new one started. */
export class EvaluationCancelled extends EvaluateError {
  readonly code = 'DSPEX_EVAL_CANCELLED';
  constructor(readonly partial: PartialEvaluation, reason: unknown) {
    super(`Evaluation cancelled by its AbortSignal after ${partial.completed.length} examples.`, reason === undefined ? undefined : { cause: reason });
  }
}

/** One example ran past the per-example timeout; its task was killed and its work aborted. */
export class ExampleTimeout extends EvaluateError {
  readonly code = 'DSPEX_EVAL_EXAMPLE_TIMEOUT';
  constructor(readonly index: number, readonly timeoutMs: number) {
    super(`Example ${index} took longer than ${timeoutMs} ms and was cancelled; raise timeoutMs for slow programs.`);
  }
}

/** One example was stopped because the evaluation was cancelled or stopped. */
export class ExampleCancelled extends EvaluateError {
  readonly code = 'DSPEX_EVAL_EXAMPLE_CANCELLED';
  constructor(readonly index: number, reason: unknown) {
    super(`Example ${index} was cancelled before it finished.`, reason === undefined ? undefined : { cause: reason });
  }
}

/** The task running one example exited without a result (killed from outside, or its supervisor went down). */
export class ExampleTaskExit extends EvaluateError {
  readonly code = 'DSPEX_EVAL_TASK_EXIT';
  constructor(readonly index: number, readonly reason: unknown) {
    super(`The task of example ${index} exited without a result (${describeReason(reason)}); it is counted as an error.`);
  }
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  try {
    return typeof reason === 'string' ? reason : JSON.stringify(reason);
  } catch {
    return String(reason);
  }
}
