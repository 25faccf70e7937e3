// What a search optimizes: one or more objectives over what each trial measured (quality, LM cost, tokens,
// latency), each with its direction. With several, the trials that no other beats on every objective are the
// Pareto front; `best` is the front's trial that is best on the first objective, ties broken by the next ones.

import type { Assignment } from '../variables/kinds.js';
import type { Trial, TrialMeasures } from './samplers.js';
import { OptimizeConfigError } from './errors.js';

/** The objectives optimize() measures itself: quality (the mean metric) up; cost (USD), tokens and latency (ms per example) down. */
export type BuiltinObjective = 'quality' | 'cost' | 'tokens' | 'latency';

/** An objective of your own over a trial's measures and assignment, e.g. `{ name: 'value', direction: 'maximize', value: (m) => m.quality - 100 * (m.cost ?? 0) }`. */
export interface ObjectiveSpec {
  name: string;
  direction: 'maximize' | 'minimize';
  /** The objective's value for a completed trial; it must be a finite number (else the trial is failed). */
  value(measures: TrialMeasures, assignment: Readonly<Assignment>): number;
}

/** A built-in objective by name, or your own. */
export type Objective = BuiltinObjective | ObjectiveSpec;

const BUILTIN: Record<BuiltinObjective, ObjectiveSpec> = {
  quality: { name: 'quality', direction: 'maximize', value: (m) => m.quality },
  cost: {
    name: 'cost',
    direction: 'minimize',
    value: (m) => {
      if (m.cost === null) throw new Error(`the LM calls used model(s) ${m.unpriced.join(', ')}, which have no price: add one with registerPrices() from dspex, or optimize 'tokens' instead of 'cost'.`);
      return m.cost;
    },
  },
  tokens: { name: 'tokens', direction: 'minimize', value: (m) => m.tokens },
  latency: { name: 'latency', direction: 'minimize', value: (m) => m.latencyMs },
};

/** The objectives of a run as specs (default: quality alone); OptimizeConfigError for an unknown name, a bad spec or a name twice. */
export function resolveObjectives(objectives: readonly Objective[] | undefined): ObjectiveSpec[] {
  const list = objectives ?? ['quality'];
  if (!Array.isArray(list) || list.length === 0) throw new OptimizeConfigError('objectives', `must be a non-empty list of ${Object.keys(BUILTIN).join(', ')} or { name, direction, value }.`);
  const specs = list.map((objective): ObjectiveSpec => {
    if (typeof objective === 'string') {
      const builtin = (BUILTIN as Partial<Record<string, ObjectiveSpec>>)[objective];
      if (builtin === undefined) throw new OptimizeConfigError('objectives', `"${objective}" is not a built-in objective (${Object.keys(BUILTIN).join(', ')}); pass { name, direction, value } for your own.`);
      return builtin;
    }
    if (typeof objective?.name !== 'string' || (objective.direction !== 'maximize' && objective.direction !== 'minimize') || typeof objective.value !== 'function') {
      throw new OptimizeConfigError('objectives', 'an objective of your own is { name, direction: "maximize" | "minimize", value(measures, assignment) }.');
    }
    return objective;
  });
  const names = specs.map((s) => s.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new OptimizeConfigError('objectives', `names "${twice}" twice.`);
  return specs;
}

/** The objectives' values of a trial, in order; throws (failing the trial) for one that is not a finite number. */
export function objectiveValues(objectives: readonly ObjectiveSpec[], measures: TrialMeasures, assignment: Readonly<Assignment>): number[] {
  return objectives.map((objective) => {
    const value = objective.value(measures, assignment);
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`objective "${objective.name}" gave ${String(value)}, not a finite number.`);
    return value;
  });
}

/** > 0 when `a` is better than `b` on objective i, < 0 when worse. */
function compareOn(objectives: readonly ObjectiveSpec[], i: number, a: readonly number[], b: readonly number[]): number {
  const difference = a[i]! - b[i]!;
  return objectives[i]!.direction === 'maximize' ? difference : -difference;
}

/** Whether `a` is at least as good as `b` on every objective and better on one. */
export function dominates(objectives: readonly ObjectiveSpec[], a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let i = 0; i < objectives.length; i++) {
    const c = compareOn(objectives, i, a, b);
    if (c < 0) return false;
    if (c > 0) better = true;
  }
  return better;
}

/** Whether completed trial `a` beats `b` (or b is null): better on the first objective that differs, else the earlier. */
export function betterTrial(objectives: readonly ObjectiveSpec[], a: Trial, b: Trial | null): boolean {
  if (a.status !== 'completed' || a.values === null) return false;
  if (b === null || b.values === null) return true;
  for (let i = 0; i < objectives.length; i++) {
    const c = compareOn(objectives, i, a.values, b.values);
    if (c !== 0) return c > 0;
  }
  return a.number < b.number;
}

/** The completed trials no other completed trial dominates, by number. */
export function paretoFront(objectives: readonly ObjectiveSpec[], trials: readonly Trial[]): Trial[] {
  const completed = trials.filter((t): t is Trial & { values: number[] } => t.status === 'completed' && t.values !== null);
  return completed.filter((t) => !completed.some((other) => dominates(objectives, other.values, t.values))).sort((a, b) => a.number - b.number);
}
