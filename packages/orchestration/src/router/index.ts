// Public API of the router (the Orchestrator's Router): re-exports only.
// `Decision` is exported as RouteDecision: the learner's `Decision` (src/learner) shares the package's namespace.
export { Router, type RouterOptions, type Decision as RouteDecision } from './router.js';
export { RoutedModule, type ModuleSpec } from './routed_module.js';
export { RouterTelemetry, type RouteEvent, type RouteReason, type RouteSide, type RouterTelemetryEvents } from './telemetry.js';
export { SideStats, type SideStatsOptions } from './side_stats.js';
export { PoolHealth, BreakerHealth } from './health.js';
export { isRetryable, errorCode } from './retryable.js';
export { measureRouterOverhead, type RouterOverhead } from './overhead.js';
export * from './errors.js';
