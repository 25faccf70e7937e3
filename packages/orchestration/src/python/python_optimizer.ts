// Python-backed optimizers (MIPROv2, GEPA, COPRO, or any dspy.teleprompt class by name) on a NATIVE program:
// its DSPy JSON is loaded into its Python twin in a session of the optimizer pool, the bridge's streamed
// `optimize` command runs real DSPy with the same metric (a TypeScript metric is a Node tool Python calls back),
// and the optimized state is loaded into a copy of the native program.

import type { PythonPool, Session } from '@dspex/python-bridge';
import { nanoid } from 'nanoid';
import { Example, Prediction, PythonOptimizationError, TelepromptConfigError, isPlainRecord, metricScore, type CompileOptions, type LoadOptions, type MetricResult, type Module, type ProgramState, type TelepromptMetric, type Teleprompter } from 'dspex';
import { OptimizationRun, type OptimizeProgress } from './optimization_run.js';
import { pythonTwin, stateForPython, type PythonClassSpec } from './python_twin.js';

/** The metrics the Python worker has built in (python/README.md). */
export type BuiltinMetric = 'exact_match' | 'answer_exact_match' | 'answer_passage_match';

/** Options of a Python-backed optimizer: the pool, the metric (called back from Python), the LMs, optimizer and compile kwargs. */
export interface PythonOptimizerOptions {
  /** The pool to optimize in: the design's `optimizer` pool (one worker, long timeouts). */
  pool: PythonPool;
  /** A TypeScript metric (called back from Python for every judgement) or a builtin's name. */
  metric?: TelepromptMetric | BuiltinMetric;
  /** The LM DSPy runs with in the session (the bridge's LM spec: { model, ... } or { dummy: ... }); default the pool's. */
  lm?: Record<string, unknown>;
  adapter?: 'chat' | 'json' | 'xml';
  /** Constructor arguments of the optimizer (metric is added when it takes one), e.g. { auto: 'light' }. */
  optimizerKwargs?: Record<string, unknown>;
  /** Arguments of compile besides trainset/valset, e.g. { num_trials: 4 }. */
  compileKwargs?: Record<string, unknown>;
  /** The DSPy class to rebuild the program as; inferred for Predict and ChainOfThought. */
  pythonClass?: PythonClassSpec;
  /** The examples' input fields; default the first example's withInputs keys. */
  inputKeys?: readonly string[];
  onProgress?: (event: OptimizeProgress) => void;
  signal?: AbortSignal;
  /** Limit for the whole optimization in Python (default the pool's callTimeoutMs). */
  timeoutMs?: number;
  /** How the optimized state is loaded natively (e.g. lmFromState). */
  loadOptions?: LoadOptions;
}

interface OptimizeResult {
  handle: string;
  class: string;
  state: Record<string, unknown>;
}

/** Any DSPy optimizer run in Python (`new PythonOptimizer('MIPROv2', { pool, metric, ... })`): exports the program as DSPy JSON, optimizes in the pool, loads the result back natively. */
export class PythonOptimizer implements Teleprompter {
  constructor(
    readonly optimizer: string,
    private readonly options: PythonOptimizerOptions,
  ) {
    if (typeof optimizer !== 'string' || optimizer === '') throw new TelepromptConfigError('a Python optimizer needs a class name such as "MIPROv2" or a dotted path.');
    if (options?.pool === undefined) throw new TelepromptConfigError(`${optimizer} needs { pool }: the Python pool to optimize in.`);
  }

  /** The optimized copy of `student`. Rejects with PythonOptimizationError, NoPythonTwinError or a bridge error. */
  compile<P extends Module>(student: P, options: CompileOptions): Promise<P> {
    return this.run(student, options).result;
  }

  /** Starts the optimization; iterate the run for progress, await `run.result` for the program. */
  run<P extends Module>(student: P, { trainset, valset }: CompileOptions): OptimizationRun<P> {
    return new OptimizationRun((emit) => this.optimize(student, trainset, valset, emit), this.options.onProgress);
  }

  private async optimize<P extends Module>(student: P, trainset: readonly Example[], valset: readonly Example[] | undefined, emit: (event: OptimizeProgress) => void): Promise<P> {
    const { pool, signal, timeoutMs } = this.options;
    const inputKeys = [...(this.options.inputKeys ?? trainset[0]?.inputKeys ?? [])];
    if (inputKeys.length === 0) throw new TelepromptConfigError(`${this.optimizer} needs the examples' input fields: call withInputs() on the trainset or pass inputKeys.`);
    const twin = this.options.pythonClass ?? pythonTwin(student);
    const session = pool.session(`optimize-${nanoid(8)}`, { affinity: 'strict_queue' });
    try {
      const metric = await this.metricSpec(session, inputKeys, emit);
      if (this.options.lm !== undefined) await session.call('configure_lm', { ...this.options.lm, ...(this.options.adapter === undefined ? {} : { adapter: this.options.adapter }) });
      const { handle } = await session.call<{ handle: string }>('load', { ...twin, state: stateForPython(await student.save()) });
      const stream = session.stream<unknown>(
        'optimize',
        {
          handle,
          optimizer: this.optimizer,
          trainset: trainset.map((example) => example.toDict()),
          input_keys: inputKeys,
          ...(metric === undefined ? {} : { metric }),
          ...(valset === undefined ? {} : { valset: valset.map((example) => example.toDict()) }),
          optimizer_kwargs: this.options.optimizerKwargs ?? {},
          compile_kwargs: this.options.compileKwargs ?? {},
        },
        { ...(signal === undefined ? {} : { signal }), ...(timeoutMs === undefined ? {} : { timeoutMs }) },
      );
      for await (const chunk of stream) if (isProgress(chunk)) emit(chunk);
      const result = (await stream.result) as OptimizeResult;
      const optimized = student.deepcopy();
      await optimized.load(result.state as ProgramState, this.options.loadOptions);
      optimized._compiled = true;
      return optimized;
    } catch (error) {
      throw error instanceof TelepromptConfigError ? error : new PythonOptimizationError(this.optimizer, error);
    } finally {
      // Frees the Python program, its optimized copy and the metric tool; a failure here leaves them to the TTL.
      await session.close().catch((error: unknown) => emit({ event: 'log', level: 'WARNING', message: `closing the optimizer session failed: ${String(error)}` }));
    }
  }

  /** A builtin's name as is; a function becomes a Node tool of the session, called as { callback: name }. */
  private async metricSpec(session: Session, inputKeys: string[], emit: (event: OptimizeProgress) => void): Promise<string | { callback: string } | undefined> {
    const { metric } = this.options;
    if (metric === undefined || typeof metric === 'string') return metric;
    if (typeof metric !== 'function') throw new TelepromptConfigError('metric must be a function or the name of a builtin metric.');
    const name = `dspex_metric_${nanoid(8)}`;
    let calls = 0;
    await session.defineTool(name, async (args) => {
      const example = new Example(recordOf(args['example'])).withInputs(...inputKeys);
      const prediction = new Prediction(recordOf(args['prediction']));
      const predName = typeof args['pred_name'] === 'string' ? args['pred_name'] : null;
      const value = await metric(example, prediction, args['bootstrapping'] === true ? [] : null, predName);
      emit({ event: 'metric_calls', count: ++calls });
      return wireMetric(value);
    }, { description: 'The TypeScript metric of this optimization.' });
    return { callback: name };
  }
}

function recordOf(value: unknown): Record<string, unknown> {
  return isPlainRecord(value) ? value : {};
}

/** A number or bool as is (Python's bool metrics stay bools); { score, feedback } for GEPA. */
function wireMetric(value: MetricResult): number | boolean | { score: number; feedback: string } {
  if (typeof value === 'object') return { score: metricScore(value), feedback: value.feedback ?? '' };
  metricScore(value);
  return value;
}

function isProgress(chunk: unknown): chunk is OptimizeProgress {
  return isPlainRecord(chunk) && typeof chunk['event'] === 'string';
}

/** DSPy's MIPROv2 in Python: instructions and demos searched with Bayesian optimization. */
export const MIPROv2 = (options: PythonOptimizerOptions): PythonOptimizer => new PythonOptimizer('MIPROv2', options);
/** DSPy's GEPA in Python: reflective prompt evolution (pass optimizerKwargs.reflection_lm as { $lm: spec }). */
export const GEPA = (options: PythonOptimizerOptions): PythonOptimizer => new PythonOptimizer('GEPA', options);
/** DSPy's COPRO in Python: coordinate ascent over instructions. */
export const COPRO = (options: PythonOptimizerOptions): PythonOptimizer => new PythonOptimizer('COPRO', options);
