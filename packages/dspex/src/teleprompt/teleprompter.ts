// The optimizer contract (DSPy's Teleprompter): compile(student, { trainset, teacher?, valset? }) resolves to an
// optimized copy of the student, never the student itself. Metrics are DSPy's metric(example, pred, trace): a
// number or bool, or { score, feedback } for GEPA; `trace` is set while bootstrapping, null when evaluating.

import type { Module } from '../program/module.js';
import type { Example, Fields } from '../primitives/example.js';
import type { Prediction } from '../primitives/prediction.js';
import type { TraceEntry } from '../program/settings.js';
import { MetricValueError } from './errors.js';

/** GEPA's feedback metric value (DSPy's dspy.Prediction(score=..., feedback=...)). */
export interface ScoreWithFeedback {
  score: number;
  feedback?: string;
}

/** What a metric may return: a score, a pass/fail, or a score with feedback (GEPA). */
export type MetricResult = number | boolean | ScoreWithFeedback;

/**
 * DSPy's metric(example, prediction, trace=None, pred_name=None). `trace` is the program's trace while an
 * optimizer bootstraps (an empty list when Python bootstraps: its trace stays in Python), null otherwise.
 * `E` and `P` are what the metric reads, as evaluate()'s `Metric<E, P>`: `TelepromptMetric<Example<I, O>,
 * Prediction<O>>` for a program typed from its signature, loose `Example` and `Prediction` by default.
 */
export type TelepromptMetric<E = Example, P = Prediction> = (
  example: E,
  prediction: P,
  trace?: readonly TraceEntry[] | null,
  predName?: string | null,
) => MetricResult | Promise<MetricResult>;

/** Options of `compile`: the trainset (of E, the examples the metric reads), a teacher program, a valset. */
export interface CompileOptions<E extends Example = Example> {
  trainset: readonly E[];
  /** The program whose traces become demos (BootstrapFewShot); a copy of the student by default. */
  teacher?: Module;
  valset?: readonly E[];
}

/**
 * An optimizer: `compile(program, { trainset })` returns an improved copy of the program, typed as the program.
 * `O` is the output fields its metric reads: compile accepts only a program whose predictions have them
 * (`Module<Fields, O>`); `E` is the examples of the trainset. Both are loose by default.
 */
export interface Teleprompter<O extends Fields = Fields, E extends Example = Example> {
  compile<P extends Module<Fields, O>>(student: P, options: CompileOptions<E>): Promise<P>;
}

/** The metric value as a number (a bool counts 1 or 0; { score } its score). */
export function metricScore(value: unknown): number {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' && !Number.isNaN(value)) return value;
  if (value !== null && typeof value === 'object' && typeof (value as { score?: unknown }).score === 'number') return (value as ScoreWithFeedback).score;
  throw new MetricValueError(value);
}

/**
 * DSPy's acceptance of a bootstrapped example: `metric_val >= metric_threshold` when a threshold is set (a
 * falsy threshold such as 0 counts as unset, as in Python), else the value's truthiness.
 */
export function metricAccepts(value: MetricResult, threshold: number | null | undefined): boolean {
  if (threshold) return metricScore(value) >= threshold;
  if (typeof value === 'object') return true; // a Prediction with fields is truthy in Python
  return Boolean(value);
}
