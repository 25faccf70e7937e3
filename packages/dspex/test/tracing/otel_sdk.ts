// An OpenTelemetry SDK for the tracing tests: spans to an in-memory exporter, metrics to a reader collected
// on demand, registered globally as an application would. `asyncContext` also registers the
// AsyncLocalStorage context manager (NodeSDK's default), under which spans nest across awaits.

import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, MeterProvider, MetricReader, type HistogramMetricData, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

class ManualReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface TestSdk {
  exporter: InMemorySpanExporter;
  spans(): ReadableSpan[];
  span(name: string): ReadableSpan;
  /** The data points of one metric, collected now. */
  metric(name: string): Promise<HistogramMetricData | undefined>;
  shutdown(): Promise<void>;
}

export function startSdk(options: { asyncContext?: boolean } = {}): TestSdk {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new ManualReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  const manager = options.asyncContext === true ? new AsyncLocalStorageContextManager().enable() : undefined;
  if (manager !== undefined) context.setGlobalContextManager(manager);
  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  return {
    exporter,
    spans,
    span(name) {
      const found = spans().find((s) => s.name === name);
      if (found === undefined) throw new Error(`no span named ${name}; have ${spans().map((s) => s.name).join(', ')}`);
      return found;
    },
    async metric(name) {
      const { resourceMetrics } = await reader.collect();
      const all: MetricData[] = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
      return all.find((m) => m.descriptor.name === name) as HistogramMetricData | undefined;
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      manager?.disable();
      trace.disable();
      metrics.disable();
      context.disable();
    },
  };
}

/** The parent span id of a span (sdk-trace-base 2.x keeps it in parentSpanContext). */
export function parentId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
