// Public API of @dspex/runtime/testing: the chaos-testing kit. Only re-exports; the guide is the package
// README, section "Testing your supervision trees".
export { createTestRuntime, TestRuntime, RUNTIME_EVENTS, type TestRuntimeOptions, type CrashReport, type SupervisorReport, type LogRecord, type TelemetryRecord } from './test_runtime.js';
export { kill, crash, crashOnNth, delayMessages, dropMessages, type MessageFilter } from './faults.js';
export { nextEvent, awaitDown, collector, randomProcess, type Collector, type RandomProcessOptions } from './observe.js';
export { seededRandom } from './random.js';
export { arbExitReason, arbRestart, arbShutdown, arbStrategy, arbChildSpec, arbChildSpecs, type ExitReasonKind, type ChildSpecConstraints } from './arbitraries.js';
export { SupervisorModel, type ModelStrategy, type ModelChild, type ExitOutcome } from './supervisor_model.js';
export { supervisorCommands, runSupervisorModel, type SupervisorModelConfig, type SupervisorSystem, type SupervisorCommand, type RunSupervisorModelOptions } from './supervisor_commands.js';
