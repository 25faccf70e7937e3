// OpenTelemetry for bridge calls: each call is a CLIENT span `dspex.python {command}` under the caller's
// context, whose W3C trace context travels in the call frame (`trace`: traceparent, tracestate). The worker
// records DSPy's LM calls made for that call (python/src/dspex_bridge/tracing.py) and returns them with the
// reply; they are emitted here as GenAI `chat {model}` children of the call's span, through the user's SDK.
// Nothing is built while no SDK is registered (@opentelemetry/api answers with its no-op provider).

import { ProxyTracerProvider, SpanKind, SpanStatusCode, context, trace, type Attributes, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import type { JobSpec } from './job.js';
import type { TraceCarrier, WireSpan } from './wire.js';

let cached: { provider: TracerProvider; tracer: Tracer } | undefined;

/** The tracer of the provider registered now (re-read when an application registers another one). */
function tracer(): Tracer {
  const provider = trace.getTracerProvider();
  if (cached?.provider !== provider) cached = { provider, tracer: provider.getTracer('@dspex/python-bridge', '0.1.0') };
  return cached.tracer;
}
const NOOP_TRACER_PROVIDER: TracerProvider = new ProxyTracerProvider().getDelegate();

/** True once an SDK registered a tracer provider. */
export function tracingOn(): boolean {
  const provider = trace.getTracerProvider();
  return (provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider) !== NOOP_TRACER_PROVIDER;
}

/** What a traced call carries to the worker, and where the worker's span records go. */
export interface CallTrace {
  carrier: TraceCarrier;
  onSpans(spans: readonly WireSpan[]): void;
}

function carrierOf(span: Span): TraceCarrier {
  const { traceId, spanId, traceFlags, traceState } = span.spanContext();
  const traceparent = `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
  const state = traceState?.serialize();
  return state === undefined || state === '' ? { traceparent } : { traceparent, tracestate: state };
}

/** Emits the worker's span records as children of `parent`, with their own start and end times. */
function emitWorkerSpans(parent: Span, spans: readonly WireSpan[]): void {
  const ctx = trace.setSpan(context.active(), parent);
  for (const record of spans) {
    const span = tracer().startSpan(record.name, { kind: SpanKind.CLIENT, attributes: record.attributes as Attributes, startTime: nsTime(record.start_ns) }, ctx);
    if (record.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: record.error });
    span.end(nsTime(record.end_ns));
  }
}

/** Epoch nanoseconds (a msgpack int, or a bigint past 2^53) as an OpenTelemetry HrTime. */
function nsTime(ns: number | bigint): [number, number] {
  const big = BigInt(ns);
  return [Number(big / 1_000_000_000n), Number(big % 1_000_000_000n)];
}

/**
 * Runs a bridge call (a plain call or a stream, until its result) inside its span when an SDK is registered
 * (else runs it as is): `run` is called synchronously, the span's context goes to the worker with the call,
 * the worker's LM spans come back as its children, and a failure sets error.type.
 */
export function traceBridgeCall<T>(spec: JobSpec, run: () => Promise<T>): Promise<T> {
  if (!tracingOn()) return run();
  const span = tracer().startSpan(`dspex.python ${spec.command}`, { kind: SpanKind.CLIENT, attributes: { 'dspex.python.command': spec.command, ...(spec.session === null ? {} : { 'dspex.python.session': spec.session }) } });
  if (span.isRecording()) spec.trace = { carrier: carrierOf(span), onSpans: (spans) => emitWorkerSpans(span, spans) };
  return run().then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      const code = (error as { code?: unknown } | null)?.code;
      span.setAttribute('error.type', typeof code === 'string' ? code : (error as object | null)?.constructor?.name ?? 'Error');
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      if (error instanceof Error) span.recordException(error);
      span.end();
      throw error;
    },
  );
}
