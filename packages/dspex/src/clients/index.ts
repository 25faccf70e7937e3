// Public API of the LM clients. Only re-exports; see lm.ts for the entry points; the contract they implement is primitives/lm.ts.
export type { Role, ToolCall, LMMessage, ToolDefinition, LMRequest, LMConfig, LMOutput, LMUsage, LMResponse, LMStreamChunk, LMContentPart, StructuredOutputs } from '../primitives/lm.js';
export { defaultStructuredOutputs, structuredOutputsOf } from '../adapters/structured_outputs.js';
export { LM, lmSupervisorSpec, type LMHandle, type LMStartOptions } from './lm.js';
export type { LMOptions, ApiBase, ApiKey } from './options.js';
export { lmEndpoint, type LMEndpoint } from './endpoint.js';
export { DEFAULT_DISK_CACHE_DIR } from './options.js';
export type { LMUsageTotals } from './lm_client.js';
export { LMError, LMConfigError, LMAuthError, LMHttpError, LMContextWindowExceeded, LMRateLimited, CircuitOpen, LMTimeout, LMAborted, LMNetworkError, LMBadResponse, Redactor, type LMErrorCode } from './errors.js';
export { systemClock, type Clock } from './clock.js';
export { cacheKey, sortedJson, IGNORED_CACHE_KEYS } from './cache.js';
export type { BreakerOptions, BreakerState } from './circuit_breaker.js';
export type { RateLimit } from './rate_limiter.js';
export type { RetryPolicy } from './http.js';
export { lmTelemetry, type LMTelemetry, type LMTelemetryEvents } from './telemetry.js';
export { SseParser, readSse, type SseEvent } from './sse.js';
