// The optimizers-over-variables subsystem's public surface; src/index.ts re-exports it.
export { optimize, optimizeNamespace, type OptimizeOptions, type OptimizeResult, type OptimizeProgress } from './optimize.js';
export { randomSearch, gridSearch, domainOf, seededRandom, type Sampler, type SamplerContext, type Trial, type TrialMeasures } from './samplers.js';
export { paretoFront, dominates, type Objective, type BuiltinObjective, type ObjectiveSpec } from './objectives.js';
export { OptimizeError, OptimizeConfigError, OptimizeNoBestError, OptimizeSamplerError, OptunaError, OptunaStudyLostError } from './errors.js';
export { bootstrapDemos, type BootstrapDemosOptions } from './demos.js';
export { proposeInstructions, type ProposeInstructionsOptions } from './instructions.js';
export { optunaTPE, type OptunaTPEOptions, type OptunaEvent } from './optuna.js';
