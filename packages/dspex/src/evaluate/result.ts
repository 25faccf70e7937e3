// DSPy's EvaluationResult (a Prediction with `score`, a percentage rounded to 2 places, and `results`, one
// (example, prediction, score) per devset item in devset order), plus the flat records that tables, JSON
// and CSV are made of (DSPy's _prepare_results_output and merge_dicts).

import { Prediction } from '../primitives/prediction.js';
import { toSerializable } from '../primitives/example.js';
import type { EvaluationRow, ExampleFailure } from './types.js';

/** Counts of an evaluation: failed and retried examples, elapsed time. */
export interface EvaluationStats {
  /** Examples that failed (and got the failure score). */
  readonly failed: number;
  /** Examples tried a second time after their Python worker died. */
  readonly retried: number;
  readonly elapsedMs: number;
  readonly examplesPerSecond: number;
}

/** What `evaluate` returns: a Prediction with `score` (a percentage, rounded as DSPy rounds it) and `results` ([example, prediction, score] per devset item, in order), plus stats. */
export class EvaluationResult extends Prediction {
  /** Every failed example with its error, in devset order. Not part of DSPy's fields. */
  readonly failures: readonly ExampleFailure[];
  readonly stats: EvaluationStats;

  constructor(score: number, results: readonly EvaluationRow[], failures: readonly ExampleFailure[] = [], stats?: EvaluationStats) {
    super({ score, results });
    this.failures = failures;
    this.stats = stats ?? { failed: failures.length, retried: 0, elapsedMs: 0, examplesPerSecond: 0 };
  }

  /** The overall score: a percentage rounded to 2 places, as Python's round(100 * sum / n, 2). */
  get score(): number {
    return this._store['score'] as number;
  }

  get results(): readonly EvaluationRow[] {
    return this._store['results'] as readonly EvaluationRow[];
  }

  override toString(): string {
    return `EvaluationResult(score=${this.score}, results=<list of ${this.results.length} results>)`;
  }
}

/** One row of saved results (CSV or JSON). */
export type ResultRecord = Record<string, unknown>;

/** DSPy's merge_dicts: a key in both gets `example_` / `pred_` prefixes. */
export function mergeRecords(example: Record<string, unknown>, prediction: Record<string, unknown>): ResultRecord {
  const merged: ResultRecord = {};
  for (const [key, value] of Object.entries(example)) merged[key in prediction ? `example_${key}` : key] = value;
  for (const [key, value] of Object.entries(prediction)) merged[key in example ? `pred_${key}` : key] = value;
  return merged;
}

/** One flat record per row: example fields, prediction fields, and the score under the metric's name. */
export function resultRecords(rows: readonly EvaluationRow[], metricName: string): ResultRecord[] {
  return rows.map(([example, prediction, score]) => {
    const record = mergeRecords(example.toDict(), toSerializable(prediction.toDict()) as Record<string, unknown>);
    record[metricName] = score; // Python's `record | {name: score}`: an existing key keeps its place
    return record;
  });
}

/** The column name DSPy gives the score: the metric function's name. */
export function metricNameOf(metric: object, override?: string): string {
  if (override !== undefined && override !== '') return override;
  const name = (metric as { name?: unknown }).name;
  return typeof name === 'string' && name !== '' ? name : 'metric';
}
