// DSPy's BootstrapFewShot (dspy/teleprompt/bootstrap.py), natively. Trainset examples are bootstrapped
// concurrently as runtime tasks (Task.asyncStream, ordered), then accepted in DSPy's sequential order: the first
// maxBootstrappedDemos successes in trainset order, errors counted as DSPy counts them. The unaccepted examples
// are shuffled and sampled with Python's random.Random(0), so the demos are exactly the ones DSPy picks.

import { Task, type Caller } from '@dspex/runtime';
import { DEFAULT_MAX_ERRORS } from '../evaluate/index.js';
import { withWorkRuntime } from '../evaluate/work_runtime.js';
import type { Example, Fields } from '../primitives/example.js';
import type { Prediction } from '../primitives/prediction.js';
import type { Module } from '../program/module.js';
import type { Settings } from '../program/settings.js';
import { bootstrapExample, captureSettings, type BootstrapAttempt, type ExampleContext } from './bootstrap_example.js';
import { BootstrapMaxErrorsError, StudentCompiledError, TeacherMismatchError, TelepromptConfigError } from './errors.js';
import { labeledFewShot } from './labeled_few_shot.js';
import { PyRandom, type PySeed } from './py_random.js';
import type { CompileOptions, TelepromptMetric, Teleprompter } from './teleprompter.js';

/** One trainset example as the sequential walk saw it. */
export interface BootstrapExampleEvent {
  index: number;
  success: boolean;
  rounds: number;
  errors: number;
}

/**
 * Options of BootstrapFewShot, DSPy's names and defaults: metric, maxBootstrappedDemos, maxLabeledDemos, maxRounds,
 * maxErrors, metricThreshold. `O` and `E`: the output fields and the examples the metric reads (loose by default).
 */
export interface BootstrapFewShotOptions<O extends Fields = Fields, E extends Example = Example> {
  /** Judges the teacher's prediction of a trainset example; none accepts every prediction that did not fail. */
  metric?: TelepromptMetric<E, Prediction<O>>;
  /** Accept a bootstrapped example when metric >= this (unset or 0: when the metric is truthy). */
  metricThreshold?: number | null;
  /** Settings over the caller's while the teacher runs (DSPy's teacher_settings), e.g. { lm }. */
  teacherSettings?: Partial<Settings>;
  /** Default 4. */
  maxBootstrappedDemos?: number;
  /** Default 16. */
  maxLabeledDemos?: number;
  /** Tries per example; rounds after the first use the LM with rollout_id and temperature 1.0. Default 1. */
  maxRounds?: number;
  /** Failed examples (program or metric errors) before compile rejects. Default 10, dspy.settings.max_errors. */
  maxErrors?: number;
  /** Seed of the shuffle and the sampling (DSPy: 0). */
  seed?: PySeed;
  /** Examples bootstrapped at once. Default 8. Results never depend on it. */
  concurrency?: number;
  /**
   * The runtime (or process) the example tasks run under. Default: settings.runtime (`configure({ runtime })`),
   * else a runtime made for this compile and shut down before its promise settles.
   */
  runtime?: Caller;
  /** Told about each example in trainset order, as DSPy's loop reaches it. */
  onExample?: (event: BootstrapExampleEvent) => void;
}

function count(name: string, value: number | undefined, fallback: number, min = 0): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min) throw new TelepromptConfigError(`BootstrapFewShot ${name} must be an integer >= ${min}, not ${String(n)}.`);
  return n;
}

/**
 * DSPy's BootstrapFewShot: runs a teacher on the trainset, keeps the traces the metric passes as demos, and picks
 * exactly the demos DSPy picks for the same data and seed. A metric typed for a program's outputs (`O`) makes
 * compile accept only programs with those outputs; a loose metric (the default) accepts any program.
 */
export class BootstrapFewShot<O extends Fields = Fields, E extends Example = Example> implements Teleprompter<O, E> {
  readonly maxBootstrappedDemos: number;
  readonly maxLabeledDemos: number;
  readonly maxRounds: number;
  readonly maxErrors: number;
  readonly concurrency: number;
  readonly seed: PySeed;

  constructor(private readonly options: BootstrapFewShotOptions<O, E> = {}) {
    this.maxBootstrappedDemos = count('maxBootstrappedDemos', options.maxBootstrappedDemos, 4);
    this.maxLabeledDemos = count('maxLabeledDemos', options.maxLabeledDemos, 16);
    this.maxRounds = count('maxRounds', options.maxRounds, 1, 1);
    this.maxErrors = options.maxErrors ?? DEFAULT_MAX_ERRORS;
    this.concurrency = count('concurrency', options.concurrency, 8, 1);
    this.seed = options.seed ?? 0;
    if (options.metric !== undefined && typeof options.metric !== 'function') throw new TelepromptConfigError('metric must be a function (example, prediction, trace) => number | boolean.');
  }

  /**
   * An optimized copy of `student` (marked compiled) whose predictors hold bootstrapped then labeled demos.
   * Rejects with StudentCompiledError, TeacherMismatchError, or BootstrapMaxErrorsError (cause: the example's error).
   */
  async compile<P extends Module<Fields, O>>(student: P, { trainset, teacher }: CompileOptions<E>): Promise<P> {
    const compiled = student.resetCopy();
    if (compiled._compiled) throw new StudentCompiledError();
    let teacherCopy: Module = (teacher ?? student).deepcopy();
    if (this.maxLabeledDemos > 0 && !teacherCopy._compiled) teacherCopy = labeledFewShot(teacherCopy.resetCopy(), trainset, this.maxLabeledDemos, true, this.seed);
    const names = checkStructure(compiled, teacherCopy);

    const { bootstrapped, traces } = await this.bootstrap(teacherCopy, trainset, names);
    const validation = trainset.filter((_, index) => !bootstrapped.has(index));
    new PyRandom(this.seed).shuffle(validation);

    const rng = new PyRandom(this.seed);
    for (const [name, predictor] of compiled.namedPredictors()) {
      const augmented = (traces.get(name) ?? []).slice(0, this.maxBootstrappedDemos);
      const sampleSize = Math.max(0, Math.min(this.maxLabeledDemos - augmented.length, validation.length));
      predictor.demos = [...augmented, ...rng.sample(validation, sampleSize)];
    }
    compiled._compiled = true;
    return compiled;
  }

  /** DSPy's _bootstrap: concurrent tasks, consumed in trainset order with DSPy's stop and error rules. */
  private async bootstrap(teacher: Module, trainset: readonly Example[], names: readonly string[]) {
    const bootstrapped = new Set<number>();
    const traces = new Map<string, Example[]>(names.map((name) => [name, []]));
    if (this.maxBootstrappedDemos === 0 || trainset.length === 0) return { bootstrapped, traces };
    const ctx: ExampleContext = {
      teacher,
      // The typed metric runs on the same objects; the bootstrapping below is written once, for loose records.
      metric: this.options.metric as TelepromptMetric | undefined,
      metricThreshold: this.options.metricThreshold,
      maxRounds: this.maxRounds,
      settings: captureSettings(this.options.teacherSettings ?? {}),
    };
    const controllers = new Set<AbortController>();
    const run = (index: number): Promise<BootstrapAttempt[]> => {
      const controller = new AbortController();
      controllers.add(controller);
      return bootstrapExample(ctx, trainset[index]!, controller.signal).finally(() => controllers.delete(controller));
    };
    // Examples are accepted in trainset order as they come; the ones after the last accepted one are work DSPy
    // would never have started, stopped here (and the runtime of this call, if it made one, shut down).
    const walk = async (caller: Caller): Promise<void> => {
      const stream = Task.asyncStream(caller, trainset.keys(), run, { maxConcurrency: this.concurrency, ordered: true, timeout: Infinity });
      let index = 0;
      let errors = 0;
      try {
        for await (const item of stream) {
          const attempts: BootstrapAttempt[] = 'ok' in item ? item.ok : [{ round: 0, success: false, error: item.exit, traces: new Map() }];
          let exampleErrors = 0;
          for (const attempt of attempts) {
            if (attempt.error !== undefined) {
              errors++;
              exampleErrors++;
              if (errors >= this.maxErrors) throw new BootstrapMaxErrorsError(this.maxErrors, index, attempt.error);
            }
            if (attempt.success) {
              bootstrapped.add(index);
              for (const [name, demos] of attempt.traces) traces.get(name)?.push(...demos);
              break;
            }
          }
          this.options.onExample?.({ index, success: bootstrapped.has(index), rounds: attempts.length, errors: exampleErrors });
          index++;
          if (bootstrapped.size >= this.maxBootstrappedDemos) break;
        }
      } finally {
        for (const controller of controllers) controller.abort(new Error('BootstrapFewShot has enough demos'));
      }
    };
    await withWorkRuntime(this.options.runtime, walk);
    return { bootstrapped, traces };
  }
}

/** DSPy's _prepare_predictor_mappings checks; returns the predictor names. */
function checkStructure(student: Module, teacher: Module): string[] {
  const studentPredictors = student.namedPredictors();
  const teacherPredictors = teacher.namedPredictors();
  if (studentPredictors.length !== teacherPredictors.length) {
    throw new TeacherMismatchError(`the student has ${studentPredictors.length} predictors, the teacher ${teacherPredictors.length}`);
  }
  studentPredictors.forEach(([name, predictor], i) => {
    const [teacherName, teacherPredictor] = teacherPredictors[i]!;
    if (name !== teacherName) throw new TeacherMismatchError(`predictor ${i} is '${name}' in the student and '${teacherName}' in the teacher`);
    if (!predictor.signature.equals(teacherPredictor.signature)) throw new TeacherMismatchError(`the signatures of '${name}' differ`);
    if (predictor === teacherPredictor) throw new TeacherMismatchError(`'${name}' is the same object in both`);
  });
  return studentPredictors.map(([name]) => name);
}
