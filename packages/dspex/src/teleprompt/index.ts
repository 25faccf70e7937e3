// Public API of the optimizers (DSPy's dspy/teleprompt): re-exports only.
export { BootstrapFewShot, type BootstrapFewShotOptions, type BootstrapExampleEvent } from './bootstrap.js';
export { rolloutLm } from './bootstrap_example.js';
export { LabeledFewShot, labeledFewShot, type LabeledFewShotOptions, type LabeledCompileOptions } from './labeled_few_shot.js';
export { PyRandom, type PySeed } from './py_random.js';
export { metricScore, metricAccepts, type Teleprompter, type TelepromptMetric, type MetricResult, type ScoreWithFeedback, type CompileOptions } from './teleprompter.js';
export * from './errors.js';
