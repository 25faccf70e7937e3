// The typed errors of optimizers over variables; each extends OptimizeError (a DSPexError) with a stable `code`.

import { DSPexError } from '@dspex/runtime';

/** The base of optimize()'s typed errors. */
export abstract class OptimizeError extends DSPexError {}

/** optimize() was given options it cannot use; `field` names the option. */
export class OptimizeConfigError extends OptimizeError {
  readonly code = 'DSPEX_OPTIMIZE_CONFIG';
  constructor(readonly field: string, problem: string) {
    super(`optimize option ${field}: ${problem}`);
  }
}

/** applyBest found no completed trial to apply (every trial failed or was infeasible). */
export class OptimizeNoBestError extends OptimizeError {
  readonly code = 'DSPEX_OPTIMIZE_NO_BEST';
  constructor(readonly runId: string, trials: number) {
    super(`optimize run "${runId}": none of its ${trials} trials completed, so there is no best assignment to apply. Look at result.trials for their errors, fix the program or the metric, and run again.`);
  }
}

/** The sampler failed to propose (a proposer's LM or Python worker failed); `cause` is its error. */
export class OptimizeSamplerError extends OptimizeError {
  readonly code = 'DSPEX_OPTIMIZE_SAMPLER';
  constructor(readonly runId: string, readonly sampler: string, readonly trials: number, cause: unknown) {
    super(`optimize run "${runId}": the ${sampler} sampler failed after ${trials} trials: ${cause instanceof Error ? cause.message : String(cause)}. The finished trials are recorded in the store; fix the cause (see error.cause) and run again.`, { cause });
  }
}

/** The Optuna study in Python failed or refused a request (its cause attached); `operation` names the bridge command. */
export class OptunaError extends OptimizeError {
  readonly code = 'DSPEX_OPTUNA';
  constructor(readonly operation: string, message: string, options?: { cause?: unknown }) {
    super(`optunaTPE ${operation}: ${message}`, options);
  }
}

/** The Python worker holding the Optuna study died more often than `maxRecoveries` allows; the run stops. */
export class OptunaStudyLostError extends OptimizeError {
  readonly code = 'DSPEX_OPTUNA_STUDY_LOST';
  constructor(readonly recoveries: number, options?: { cause?: unknown }) {
    super(`optunaTPE: the Python worker holding the Optuna study died again after ${recoveries} recoveries, so the search stops. The trials finished so far are in the store (optimize:<space>); find why the worker dies (its exit in the pool's telemetry), or raise maxRecoveries.`, options);
  }
}
