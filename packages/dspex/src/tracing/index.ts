// Public API of DSPex's OpenTelemetry support. Only re-exports.
export { configureTracing, type TracingOptions } from './instruments.js';
export { SEMCONV_VERSION } from './conventions.js';
