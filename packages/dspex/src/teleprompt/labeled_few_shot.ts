// DSPy's LabeledFewShot (dspy/teleprompt/vanilla.py): every predictor of a reset copy of the student gets k
// labeled examples as demos, sampled with one Python-compatible random.Random(seed) shared across predictors,
// so the same trainset gives the same demos as DSPy.

import type { Example } from '../primitives/example.js';
import type { Module } from '../program/module.js';
import { TelepromptConfigError } from './errors.js';
import { PyRandom, type PySeed } from './py_random.js';
import type { CompileOptions, Teleprompter } from './teleprompter.js';

/** Options of LabeledFewShot: `k` demos per predictor. */
export interface LabeledFewShotOptions {
  /** Demos per predictor (DSPy's k). Default 16. */
  k?: number;
  /** Seed of the sampling rng. DSPy uses 0. */
  seed?: PySeed;
}

/** Compile options of LabeledFewShot: the trainset, and whether to sample k demos at random (default) or take the first k. */
export interface LabeledCompileOptions extends CompileOptions {
  /** Sample k demos at random (default); false takes the first k. */
  sample?: boolean;
}

/** DSPy's LabeledFewShot: puts up to `k` trainset examples as demos on every predictor. */
export class LabeledFewShot implements Teleprompter {
  readonly k: number;
  readonly seed: PySeed;

  constructor(options: LabeledFewShotOptions = {}) {
    this.k = options.k ?? 16;
    this.seed = options.seed ?? 0;
    if (!Number.isInteger(this.k) || this.k < 0) throw new TelepromptConfigError(`LabeledFewShot k must be a non-negative integer, not ${String(this.k)}.`);
  }

  async compile<P extends Module>(student: P, options: LabeledCompileOptions): Promise<P> {
    return labeledFewShot(student.resetCopy(), options.trainset, this.k, options.sample ?? true, this.seed);
  }
}

/** Sets the demos of `program`'s predictors in place (no copy): the shared core of LabeledFewShot. */
export function labeledFewShot<P extends Module>(program: P, trainset: readonly Example[], k: number, sample: boolean, seed: PySeed): P {
  if (trainset.length === 0) return program;
  const rng = new PyRandom(seed);
  const count = Math.min(k, trainset.length);
  for (const predictor of program.predictors()) {
    predictor.demos = sample ? rng.sample(trainset, count) : trainset.slice(0, count);
  }
  return program;
}
