// Typed errors of the optimizers (teleprompters). Each has a stable `code` and a message that says what to do;
// DSPy raises AssertionError or ValueError for most of these, and re-raises the example's own error at max_errors.

import { DSPexError } from '@dspex/runtime';

/** Base class of optimizer errors; each has a stable `code`. */
export abstract class TelepromptError extends DSPexError {}

/** Bad optimizer settings (a negative demo count, a non-function metric, an empty optimizer name). */
export class TelepromptConfigError extends TelepromptError {
  readonly code = 'DSPEX_TELEPROMPT_CONFIG';
}

/** The student was compiled already (DSPy: "Student must be uncompiled."). */
export class StudentCompiledError extends TelepromptError {
  readonly code = 'DSPEX_STUDENT_COMPILED';
  constructor() {
    super('The student must be uncompiled: pass the program before optimization, not the result of compile().');
  }
}

/** Student and teacher differ in predictor count, names or signatures, or share a predictor object. */
export class TeacherMismatchError extends TelepromptError {
  readonly code = 'DSPEX_TEACHER_MISMATCH';
  constructor(detail: string) {
    super(`Student and teacher must have the same program structure: ${detail}. Build the teacher the same way as the student.`);
  }
}

/**
 * BootstrapFewShot reached max_errors failed examples (DSPy re-raises the example's error there). The example's
 * error is the cause.
 */
export class BootstrapMaxErrorsError extends TelepromptError {
  readonly code = 'DSPEX_BOOTSTRAP_MAX_ERRORS';
  constructor(readonly maxErrors: number, readonly exampleIndex: number, cause: unknown) {
    super(
      `Bootstrapping stopped after ${maxErrors} failed examples (the last at trainset index ${exampleIndex}): ` +
        `${cause instanceof Error ? cause.message : String(cause)}. Fix the program or the LM, or raise maxErrors.`,
      { cause },
    );
  }
}

/** A native program has no known DSPy class to optimize it as in Python; pass `pythonClass`. */
export class NoPythonTwinError extends TelepromptError {
  readonly code = 'DSPEX_NO_PYTHON_TWIN';
  constructor(readonly program: string) {
    super(
      `${program} has no DSPy class DSPex knows to rebuild it in Python (Predict and ChainOfThought have one). ` +
        "Pass pythonClass: { class: 'mypkg.MyProgram', args, kwargs } naming a DSPy module with the same predictors.",
    );
  }
}

/** The Python optimization failed (the optimizer raised, the worker died, the call was cancelled). */
export class PythonOptimizationError extends TelepromptError {
  readonly code = 'DSPEX_PYTHON_OPTIMIZATION';
  constructor(readonly optimizer: string, cause: unknown) {
    const detail = cause instanceof Error ? `${(cause as { code?: string }).code ?? cause.name}: ${cause.message}` : String(cause);
    super(`${optimizer} failed in Python: ${detail}`, { cause });
  }
}

/** A TypeScript metric called back from Python returned something that is not a number, bool or {score, feedback}. */
export class MetricValueError extends TelepromptError {
  readonly code = 'DSPEX_METRIC_VALUE';
  constructor(value: unknown) {
    super(`A metric must return a number, a boolean or { score, feedback }, not ${JSON.stringify(value) ?? String(value)}.`);
  }
}
