// Public API of @dspex/runtime. Only re-exports; see README.md for the guide.
export { Runtime, type RuntimeOptions, type SpawnOptions, type ProcessInfo } from './runtime.js';
export { isPid, type Pid, type Dest, type ViaName, type ProcessContext, type ProcessBehavior, type ReceiveFn } from './process.js';
export { Exit, Down, Ref, TIMEOUT, type Timeout, type ExitReason, type ShutdownWithDetail, shutdownWith, isShutdown, isNormalExit } from './reasons.js';
export * from './errors.js';
export { GenServer, From, BadReturnError, runtimeOf, type GenServerBehavior, type InitResult, type CallResult, type NoReplyResult, type Timing, type StartResult, type StartOptions, type Caller, type TypedCall, type RepliesOf, type ReplyFor, type ServerRef, type ServerPid, type ServerProtocol } from './gen_server.js';
export type { TelemetryEvents, TelemetryEventName } from './telemetry.js';
export type { SchedulerOptions } from './scheduler.js';
export { normalizeChildSpec, startChildProcess, shutdownChild, type ChildSpec, type NormalizedChildSpec, type Restart, type Shutdown, type ChildType } from './child_spec.js';
export { Supervisor, validateSupervisorSpec, type SimpleOnly, type Strategy, type AutoShutdown, type SupervisorFlags, type SupervisorSpec, type SupervisorInit, type ChildInfo, type ChildCounts, type StartChildResult, type TerminateChildResult, type RestartChildResult, type DeleteChildResult } from './supervisor.js';
export { supervisionTree, formatTree, type TreeNode } from './tree.js';
export { Port, PortData, portExitReason, type PortOptions, type PortHandle, type PortFd, type PortExit, type PortCommand, type PortExitReason } from './port.js';
export { WorkerPool, type WorkerPoolOptions, type WorkerRunOptions } from './worker_pool.js';
export { StateMachine, MachineEmitted, MachineDone, type StateMachineOptions, type MachineState, type InfoEvent } from './state_machine.js';
export { DynamicSupervisor, type DynamicSupervisorOptions } from './dynamic_supervisor.js';
export { Registry, type RegistryKeys, type RegistryOptions, type RegisterResult, type UpdateValueResult, type RegistryStartResult } from './registry.js';
export { Task, TaskReply, TaskSupervisor, type YieldManyOptions, type TaskOutcome, type TaskFn, type StreamFn, type StreamItem, type AsyncStreamOptions, type TaskSupervisorOptions, type TaskStartOptions } from './task.js';
export { defaultLogger, logDestination, prettyLine, relativisePaths } from './logger.js';
