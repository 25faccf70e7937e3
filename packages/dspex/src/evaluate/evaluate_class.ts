// dspy.Evaluate as a class: the constructor takes DSPy's options (camelCased; numThreads is the concurrency),
// and call(program, overrides) runs evaluate() with them, overrides winning as in Evaluate.__call__.

import type { Example, Fields } from '../primitives/example.js';
import type { Prediction } from '../primitives/prediction.js';
import { EvaluateConfigError } from './errors.js';
import { evaluate } from './evaluate.js';
import type { EvaluationResult } from './result.js';
import type { EvaluateOptions, Metric, Program, ProgramFor } from './types.js';

/** The options that are not DSPy's own keep their evaluate() names (runtime, signal, timeoutMs, output, ...). */
type RuntimeOptions = Omit<EvaluateOptions, 'concurrency' | 'maxErrors' | 'failureScore' | 'displayProgress' | 'displayTable' | 'saveAsJson' | 'saveAsCsv'>;

/**
 * Options of `new Evaluate(...)`, named as DSPy names them (devset, metric, numThreads, displayProgress...).
 * `O` and `E` as in evaluate(): the program's output fields and the devset's examples (loose by default).
 */
export interface EvaluateConfig<O extends Fields = Fields, E extends Example = Example> extends RuntimeOptions {
  devset: readonly E[];
  metric?: Metric<E, Prediction<O>>;
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

/** What Evaluate.__call__ lets a call override (of the same types as the Evaluate's). */
export interface EvaluateCallOverrides<O extends Fields = Fields, E extends Example = Example> extends RuntimeOptions {
  metric?: Metric<E, Prediction<O>>;
  devset?: readonly E[];
  numThreads?: number;
  displayProgress?: boolean;
  displayTable?: boolean | number;
  saveAsCsv?: string;
  saveAsJson?: string;
}

/**
 * DSPy's `dspy.Evaluate`: `new Evaluate({ devset, metric, numThreads }).call(program)`, on top of `evaluate`.
 * `O` and `E` come from the metric and the devset (or `new Evaluate<O, E>(...)`); call() then takes only
 * programs whose predictions have the fields O. Loose by default: any program.
 */
export class Evaluate<O extends Fields = Fields, E extends Example = Example> {
  readonly config: Readonly<EvaluateConfig<O, E>>;

  constructor(config: EvaluateConfig<O, E>) {
    if (config === null || typeof config !== 'object' || !Array.isArray(config.devset)) {
      throw new EvaluateConfigError('new Evaluate({ devset, metric, ... }) needs a devset array.');
    }
    this.config = { ...config };
  }

  get devset(): readonly E[] {
    return this.config.devset;
  }

  get metric(): Metric<E, Prediction<O>> | undefined {
    return this.config.metric;
  }

  /** Runs the evaluation; rejects as evaluate() does, or with EvaluateConfigError when no metric was given anywhere. */
  call(program: ProgramFor<O>, overrides: EvaluateCallOverrides<O, E> = {}): Promise<EvaluationResult> {
    const { devset: baseDevset, metric: baseMetric, numThreads: baseThreads, ...base } = this.config;
    const { devset, metric, numThreads, ...rest } = overrides;
    const chosenMetric = metric ?? baseMetric;
    if (chosenMetric === undefined) return Promise.reject(new EvaluateConfigError('Evaluate needs a metric: pass it to the constructor or to call().'));
    const concurrency = numThreads ?? baseThreads;
    const options: EvaluateOptions = { ...base, ...definedOnly(rest), ...(concurrency === undefined ? {} : { concurrency }) };
    return evaluate(program as Program<O>, devset ?? baseDevset, chosenMetric, options);
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
