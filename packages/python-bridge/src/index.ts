// Public API of @dspex/python-bridge. Only re-exports; see README.md for the guide.
export { PythonPools, PythonPool, Session, detectGpus, type StreamOptions, type SessionOptions } from './pool.js';
export { CallStream } from './stream.js';
export type { CallOptions, Affinity } from './job.js';
export type { PoolOptions, PythonGrantEntry, ResolvedPoolOptions, DefaultPoolName } from './options.js';
export { findPython, DEFAULT_POOL_OPTIONS } from './options.js';
export type { PoolStats } from './pool_manager.js';
export type { NodeTool, WorkerCallTable } from './worker.js';
export { classifyPortExit } from './manager_protocol.js';
export { sweepOrphans } from './orphans.js';
export { PoolTelemetry, type BridgeTelemetryEvents } from './telemetry.js';
export * from './errors.js';
export { encodeFrame, decodePayload, FrameDecoder, DEFAULT_MAX_FRAME_BYTES, type NodeMessage, type WorkerMessage, type WireError } from './wire.js';
