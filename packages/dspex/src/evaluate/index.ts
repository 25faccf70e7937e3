// Public API of the evaluate subsystem (DSPy's dspy/evaluate): re-exports only.
export { evaluate, DEFAULT_CONCURRENCY, DEFAULT_MAX_ERRORS } from './evaluate.js';
export { Evaluate, type EvaluateConfig, type EvaluateCallOverrides } from './evaluate_class.js';
export { EvaluationResult, resultRecords, mergeRecords, metricNameOf, type EvaluationStats, type ResultRecord } from './result.js';
export { ProgressDisplay, averageMetricText, type ProgressState } from './progress.js';
export { renderTable, truncateCell, formatScore } from './table.js';
export { toCsv, toJson, saveResults } from './save.js';
export { pyRound } from './py_round.js';
export { isWorkerLoss } from './run_example.js';
export * from './errors.js';
export {
  EvaluateTelemetry,
  evaluateTelemetry,
  type Program,
  type ProgramCallOptions,
  type Metric,
  type MetricValue,
  type EvaluationRow,
  type ExampleFailure,
  type EvaluateOptions,
  type EvaluateTelemetryEvents,
  type OutputStream,
  type Inputs,
} from './types.js';
