// The optimizers-over-variables subsystem's public surface; src/index.ts re-exports it.
export { optimize, optimizeNamespace, type OptimizeOptions, type OptimizeResult, type OptimizeProgress } from './optimize.js';
export { randomSearch, gridSearch, domainOf, seededRandom, type Sampler, type SamplerContext, type Trial } from './samplers.js';
export { OptimizeError, OptimizeConfigError, OptimizeNoBestError, OptimizeSamplerError } from './errors.js';
export { bootstrapDemos, type BootstrapDemosOptions } from './demos.js';
export { proposeInstructions, type ProposeInstructionsOptions } from './instructions.js';
