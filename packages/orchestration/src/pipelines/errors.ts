// The pipeline errors: one class per thing that can go wrong, each with a stable code and a message that says
// what to do. Build-time errors (PipelineBuildError) come from pipeline(); the rest from a run or a resume.

import { DSPexError } from '@dspex/runtime';

/** Every error of @dspex/orchestration's pipelines extends this. */
export abstract class PipelineError extends DSPexError {}

/**
 * pipeline() refused the definition: a step needs fields nothing before it produces, a name is used twice,
 * an option is out of range. `step` is the step's path, `fields` the missing fields (when that is the reason).
 */
export class PipelineBuildError extends PipelineError {
  readonly code = 'DSPEX_PIPELINE_BUILD';
  constructor(
    readonly step: string,
    message: string,
    readonly fields: readonly string[] = [],
  ) {
    super(`pipeline step '${step}': ${message}`);
  }
}

/** A step ran past its `timeoutMs`; its task was killed and its signal aborted. Retryable. */
export class StepTimeoutError extends PipelineError {
  readonly code = 'DSPEX_STEP_TIMEOUT';
  readonly retryable = true;
  constructor(readonly step: string, readonly timeoutMs: number) {
    super(`step '${step}' did not finish within ${timeoutMs} ms; its task was killed. Raise the step's timeoutMs, or give it a retry policy.`);
  }
}

/** A step failed (after its retries and its fallback) and its policy is `onFailure: 'fail'`: the run fails with this. */
export class StepFailedError extends PipelineError {
  readonly code = 'DSPEX_STEP_FAILED';
  constructor(
    readonly step: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(
      `step '${step}' failed after ${attempts} attempt(s): ${cause instanceof Error ? cause.message : String(cause)}. ` +
        "Give it a retry policy, a fallback, or onFailure: 'skip' / { default } to let the run go on.",
      { cause },
    );
  }
}

/** A step's function returned something other than a record with its declared output fields. */
export class StepOutputError extends PipelineError {
  readonly code = 'DSPEX_STEP_OUTPUT';
  constructor(readonly step: string, readonly fields: readonly string[]) {
    super(`step '${step}' did not produce its output field(s) ${fields.map((f) => `'${f}'`).join(', ')}. Return a record with every field in its outputs.`);
  }
}

/** The run was cancelled through its AbortSignal (or run.cancel()); running steps were aborted. */
export class PipelineCancelledError extends PipelineError {
  readonly code = 'DSPEX_PIPELINE_CANCELLED';
  constructor(readonly runId: string, cause?: unknown) {
    super(`pipeline run ${runId} was cancelled. Its journal is kept: runner.resume('${runId}') continues it.`, { cause });
  }
}

/**
 * resume() found a step marked `idempotent: false` that had started and never finished: it may have had its
 * effect. Decide, then resume again with `inFlight: { [step]: 'rerun' }` or `{ [step]: { outputs } }`.
 */
export class NonIdempotentStepInFlightError extends PipelineError {
  readonly code = 'DSPEX_STEP_IN_FLIGHT';
  constructor(readonly runId: string, readonly step: string) {
    super(
      `run ${runId}: step '${step}' is not idempotent and was in flight when the run stopped; it may have taken effect. ` +
        `Check, then resume with { inFlight: { '${step}': 'rerun' } } to run it again, or { inFlight: { '${step}': { outputs: {...} } } } to record what it produced.`,
    );
  }
}

/** resume() was asked for a run the store does not have, or whose pipeline this runner does not know. */
export class PipelineResumeError extends PipelineError {
  readonly code = 'DSPEX_PIPELINE_RESUME';
  constructor(readonly runId: string, reason: string) {
    super(`cannot resume run ${runId}: ${reason}`);
  }
}
