// The accounting of one evaluation: each example's outcome kept once, at its devset index, with the counts the
// progress bar shows and the failures; what a stopped evaluation hands back (partial) and, at the end, the
// rows and DSPy's score: round(100 * sum / n, 2) with a failed example scored failureScore.

import type { Example } from '../primitives/example.js';
import { Prediction } from '../primitives/prediction.js';
import type { PartialEvaluation } from './errors.js';
import type { ProgressState } from './progress.js';
import { pyRound } from './py_round.js';
import { EvaluationResult } from './result.js';
import { errorCode, type ExampleOutcome } from './run_example.js';
import type { EvaluationRow, ExampleFailure } from './types.js';

/** Outcomes by devset index, the running counts, failures and retries of one evaluation. */
export class EvaluationTally {
  private readonly outcomes: Array<ExampleOutcome | undefined>;
  private readonly failures: ExampleFailure[] = [];
  /** What the progress display shows (a ProgressState); updated by record(). */
  readonly state: { -readonly [K in keyof ProgressState]: ProgressState[K] };
  /** Examples tried a second time after their Python worker died. */
  retried = 0;

  constructor(private readonly devset: readonly Example[]) {
    this.outcomes = new Array<ExampleOutcome | undefined>(devset.length);
    this.state = { done: 0, total: devset.length, failed: 0, scoreSum: 0, scored: 0 };
  }

  /** Keeps `outcome`: 'seen' when its example already has one (kept as it was), else the failure it adds, or null. */
  record(outcome: ExampleOutcome): 'seen' | ExampleFailure | null {
    if (this.outcomes[outcome.index] !== undefined) return 'seen';
    this.outcomes[outcome.index] = outcome;
    this.state.done++;
    if (outcome.ok) {
      this.state.scoreSum += outcome.score;
      this.state.scored++;
      return null;
    }
    this.state.failed++;
    const failure: ExampleFailure = { index: outcome.index, error: outcome.error, code: errorCode(outcome.error), attempts: outcome.attempts };
    this.failures.push(failure);
    return failure;
  }

  /** What finished so far, in devset order: for MaxErrorsExceeded and EvaluationCancelled. */
  partial(): PartialEvaluation {
    return {
      completed: this.outcomes.flatMap((o) => (o?.ok === true ? [{ index: o.index, row: [this.devset[o.index]!, o.prediction, o.score] as EvaluationRow }] : [])),
      failures: this.sortedFailures(),
    };
  }

  /** DSPy's result: a row per devset item (a failed one has an empty Prediction and `failureScore`) and the score. */
  result(failureScore: number, elapsedMs: number): EvaluationResult {
    const rows: EvaluationRow[] = this.devset.map((example, index) => {
      const outcome = this.outcomes[index];
      if (outcome?.ok === true) return [example, outcome.prediction, outcome.score];
      return [example, new Prediction(), failureScore];
    });
    let ncorrect = 0;
    for (const row of rows) ncorrect += row[2];
    const total = this.devset.length;
    const score = pyRound((100 * ncorrect) / total, 2);
    const examplesPerSecond = elapsedMs > 0 ? (total * 1000) / elapsedMs : 0;
    const failures = this.sortedFailures();
    return new EvaluationResult(score, rows, failures, { failed: failures.length, retried: this.retried, elapsedMs, examplesPerSecond });
  }

  private sortedFailures(): ExampleFailure[] {
    return [...this.failures].sort((a, b) => a.index - b.index);
  }
}
