// Pipelines: steps and combinators, build-time checks, durable runs.
export { step, sequence, parallel, map, branch, loop, type Node, type StepNode, type SequenceNode, type ParallelNode, type MapNode, type BranchNode, type LoopNode, type StepOptions, type StepRunnable, type StepFunction, type StepContext, type RetryPolicy, type FailurePolicy, type ParallelMode, type ItemFailurePolicy, type RunState } from './nodes.js';
export { pipeline, type Pipeline } from './build.js';
export { showProgress, type RunProgressOptions, type RunPlan } from './progress.js';
export { PipelineRunner, Pipelines, PIPELINES_SUPERVISOR, type PipelineRunnerOptions, type RunOptions, type ResumeOptions, type PipelineRun, type PipelineStore } from './runner.js';
export type { InFlightDecision, RunJournal } from './execute.js';
export { pipelineTelemetry, type PipelineEvent, type StepStartedEvent, type StepChunkEvent, type StepFinishedEvent, type StepFailedEvent, type StepRetriedEvent, type RunEndedEvent } from './events.js';
export { PipelineError, PipelineBuildError, StepTimeoutError, StepFailedError, StepOutputError, PipelineCancelledError, NonIdempotentStepInFlightError, PipelineResumeError } from './errors.js';
