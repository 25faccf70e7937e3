// The tracer and meters DSPex reports to, and the checks that keep tracing free when nobody listens:
// `tracingOn()` is false until an OpenTelemetry SDK registers a tracer provider, `metricsOn()` until one
// registers a meter provider; while both are false no span, attribute or context is built. Each is read
// again when the application registers another provider.

import { ProxyTracerProvider, ValueType, context, createNoopMeter, metrics, trace, type Context, type Histogram, type MeterProvider, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { CAPTURE_CONTENT_ENV, DURATION_BUCKETS, METRIC, SCHEMA_URL, TOKEN_BUCKETS } from './conventions.js';

const SCOPE = 'dspex';
const SCOPE_VERSION = '0.1.0';

/** The provider the API answers with before any SDK registers one. */
const NOOP_TRACER_PROVIDER: TracerProvider = new ProxyTracerProvider().getDelegate();

let cachedTracer: { provider: TracerProvider; tracer: Tracer } | undefined;

/** The tracer of the provider registered now (re-read when an application registers another one). */
export function tracer(): Tracer {
  const provider = trace.getTracerProvider();
  if (cachedTracer?.provider !== provider) cachedTracer = { provider, tracer: provider.getTracer(SCOPE, SCOPE_VERSION, { schemaUrl: SCHEMA_URL }) };
  return cachedTracer.tracer;
}

/** True when an SDK registered a tracer provider: the only check the untraced hot path pays. */
export function tracingOn(): boolean {
  const provider = trace.getTracerProvider();
  return (provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider) !== NOOP_TRACER_PROVIDER;
}

interface Instruments {
  provider: MeterProvider;
  /** False for the API's no-op meter provider (no SDK registered one). */
  on: boolean;
  duration: Histogram;
  tokens: Histogram;
}
let instruments: Instruments | undefined;

/** The GenAI client histograms of the meter provider registered now (no-op instruments without one). */
export function genAiInstruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (instruments?.provider === provider) return instruments;
  const meter = provider.getMeter(SCOPE, SCOPE_VERSION, { schemaUrl: SCHEMA_URL });
  instruments = {
    provider,
    on: meter !== createNoopMeter(),
    duration: meter.createHistogram(METRIC.operationDuration, { description: 'GenAI operation duration.', unit: 's', advice: { explicitBucketBoundaries: DURATION_BUCKETS } }),
    tokens: meter.createHistogram(METRIC.tokenUsage, { description: 'Number of input and output tokens used.', unit: '{token}', valueType: ValueType.INT, advice: { explicitBucketBoundaries: TOKEN_BUCKETS } }),
  };
  return instruments;
}

/** True when an SDK registered a meter provider: the GenAI metrics are recorded even with no tracer provider. */
export function metricsOn(): boolean {
  return genAiInstruments().on;
}

/** Whether an LM call is observed at all (spans or metrics): the untraced path checks this once per call. */
export function instrumented(): boolean {
  return tracingOn() || metricsOn();
}

/** Tracing options: see configureTracing. */
export interface TracingOptions {
  /**
   * Record prompts and completions on LM spans (gen_ai.system_instructions, gen_ai.input.messages,
   * gen_ai.output.messages). Off by default: they may hold personal data. The environment variable
   * OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true turns it on too.
   */
  captureMessageContent?: boolean;
}

let captureContent = process.env[CAPTURE_CONTENT_ENV]?.toLowerCase() === 'true';

/** Sets DSPex's tracing options for the process (today: whether message content is recorded). */
export function configureTracing(options: TracingOptions): void {
  if (options.captureMessageContent !== undefined) captureContent = options.captureMessageContent;
}

/** Whether message content goes on LM spans. */
export function capturingContent(): boolean {
  return captureContent;
}

/**
 * The context a span made here should have as its parent: the synchronous frame of a traced module call when
 * one is open (so a module's span parents the LM call of its synchronous part even without a context
 * manager), else the active context (which follows awaits when the SDK registered a context manager).
 */
let frame: Context | undefined;
export function parentContext(): Context {
  return frame ?? context.active();
}

/** Runs fn with `ctx` as the parent of what it starts synchronously, and as the active context. */
export function withParent<T>(ctx: Context, fn: () => T): T {
  const outer = frame;
  frame = ctx;
  try {
    return context.with(ctx, fn);
  } finally {
    frame = outer;
  }
}
