// dspy.Evaluate as a class: the constructor takes DSPy's options (camelCased; numThreads is the concurrency),
// and call(program, overrides) runs evaluate() with them, overrides winning as in Evaluate.__call__.

import type { Example } from '../primitives/example.js';
import { EvaluateConfigError } from './errors.js';
import { evaluate } from './evaluate.js';
import type { EvaluationResult } from './result.js';
import type { EvaluateOptions, Metric, Program } from './types.js';

/** The options that are not DSPy's own keep their evaluate() names (runtime, signal, timeoutMs, output, ...). */
type RuntimeOptions = Omit<EvaluateOptions, 'concurrency' | 'maxErrors' | 'failureScore' | 'displayProgress' | 'displayTable' | 'saveAsJson' | 'saveAsCsv'>;

/** Options of `new Evaluate(...)`, named as DSPy names them (devset, metric, numThreads, displayProgress...). */
export interface EvaluateConfig extends RuntimeOptions {
  devset: readonly Example[];
  metric?: Metric;
  /** Examples in flight at once (DSPy's num_threads); default 16. */
  numThreads?: number;
  displayProgress?: boolean;
  displayTable?: boolean | number;
  /** Default 10, as dspy.settings.max_errors. */
  maxErrors?: number;
  failureScore?: number;
  saveAsCsv?: string;
  saveAsJson?: string;
}

/** What Evaluate.__call__ lets a call override. */
export interface EvaluateCallOverrides extends RuntimeOptions {
  metric?: Metric;
  devset?: readonly Example[];
  numThreads?: number;
  displayProgress?: boolean;
  displayTable?: boolean | number;
  saveAsCsv?: string;
  saveAsJson?: string;
}

/** DSPy's `dspy.Evaluate`: `new Evaluate({ devset, metric, numThreads }).call(program)`, on top of `evaluate`. */
export class Evaluate {
  readonly config: Readonly<EvaluateConfig>;

  constructor(config: EvaluateConfig) {
    if (config === null || typeof config !== 'object' || !Array.isArray(config.devset)) {
      throw new EvaluateConfigError('new Evaluate({ devset, metric, ... }) needs a devset array.');
    }
    this.config = { ...config };
  }

  get devset(): readonly Example[] {
    return this.config.devset;
  }

  get metric(): Metric | undefined {
    return this.config.metric;
  }

  /** Runs the evaluation; rejects as evaluate() does, or with EvaluateConfigError when no metric was given anywhere. */
  call(program: Program, overrides: EvaluateCallOverrides = {}): Promise<EvaluationResult> {
    const { devset: baseDevset, metric: baseMetric, numThreads: baseThreads, ...base } = this.config;
    const { devset, metric, numThreads, ...rest } = overrides;
    const chosenMetric = metric ?? baseMetric;
    if (chosenMetric === undefined) return Promise.reject(new EvaluateConfigError('Evaluate needs a metric: pass it to the constructor or to call().'));
    const concurrency = numThreads ?? baseThreads;
    const options: EvaluateOptions = { ...base, ...definedOnly(rest), ...(concurrency === undefined ? {} : { concurrency }) };
    return evaluate(program, devset ?? baseDevset, chosenMetric, options);
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
