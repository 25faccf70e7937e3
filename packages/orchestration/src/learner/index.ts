// The learner's public surface; src/index.ts re-exports it.
export { defineLearner, defaultBucket, weightedObjective, type LearnerDefinition, type LearnerOptions, type LearnerContext, type Outcome, type ObjectiveWeights } from './definition.js';
export { Learners, type LearnersOptions, type LearnersHandle, type Learner, type RequestTelemetry } from './learners.js';
export { learnerNamespace, type LearnerStats } from './actor.js';
export type { Decision, DecisionReason, Explanation, ArmView, FeedbackResult, LearnerEvent, PersistedLearner, RewardPart } from './policy.js';
export type { ArmHealth, BreakerState, BreakerTransition, AnomalyOptions } from './health.js';
export type { ArmStats, Prior } from './posterior.js';
export { LearnerError, LearnerDefinitionError, LearnerValueError, LearnerUnknownRequestError, LearnersNotRunningError, LearnerDefinitionMismatchError, LearnerStoredStateError } from './errors.js';
