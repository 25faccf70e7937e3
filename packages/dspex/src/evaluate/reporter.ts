// The telemetry of one evaluation: every event carries the evaluation's id, and the per-example events (which
// come once per example, on the hot path) are built only when someone listens to them.

import type { EvaluationResult } from './result.js';
import { errorCode, type ExampleOutcome } from './run_example.js';
import type { EvaluateTelemetry, ExampleFailure } from './types.js';

let evaluationCounter = 0;

/** Emits one evaluation's events on its telemetry bus. */
export class EvaluationReporter {
  /** The id every event of this evaluation carries (`eval-1`, `eval-2`, ... in this process). */
  readonly evaluation = `eval-${++evaluationCounter}`;

  constructor(
    private readonly telemetry: EvaluateTelemetry,
    private readonly total: number,
    private readonly failureScore: number,
  ) {}

  started(concurrency: number): void {
    this.telemetry.emit('eval_start', { evaluation: this.evaluation, total: this.total, concurrency });
  }

  retried(index: number, error: Error): void {
    if (this.telemetry.listenerCount('eval_retry') > 0) this.telemetry.emit('eval_retry', { evaluation: this.evaluation, index, code: errorCode(error), message: error.message });
  }

  /** One example finished: eval_error when it failed, then eval_example with `done` examples finished so far. */
  finished(outcome: ExampleOutcome, failure: ExampleFailure | null, done: number): void {
    const { evaluation, telemetry, total } = this;
    if (failure !== null && telemetry.listenerCount('eval_error') > 0) telemetry.emit('eval_error', { evaluation, index: failure.index, code: failure.code, message: failure.error.message, attempts: failure.attempts });
    if (telemetry.listenerCount('eval_example') > 0) {
      const score = outcome.ok ? outcome.score : this.failureScore;
      telemetry.emit('eval_example', { evaluation, index: outcome.index, ok: outcome.ok, score, attempts: outcome.attempts, durationMs: outcome.durationMs, done, total });
    }
  }

  stopped(why: 'max_errors' | 'cancelled', done: number): void {
    this.telemetry.emit('eval_stopped', { evaluation: this.evaluation, why, done, total: this.total });
  }

  done(result: EvaluationResult): void {
    const { elapsedMs, examplesPerSecond } = result.stats;
    this.telemetry.emit('eval_done', { evaluation: this.evaluation, score: result.score, total: this.total, failed: result.failures.length, elapsedMs, examplesPerSecond });
  }
}
