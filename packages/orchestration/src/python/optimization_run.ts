// A running Python optimization as the caller sees it: an async iterable of progress events (every iterator gets
// them all, from the start; it throws the run's error at its end) and `result`, the optimized native program. Progress is pumped from the bridge
// stream as it arrives, so Python is never held back by a caller that does not iterate.

/** The progress events of the bridge's `optimize` stream (python/README.md), plus the metric calls made in Node. */
export type OptimizeProgress =
  | { event: 'started'; optimizer: string; trainset: number }
  | { event: 'lm_calls'; count: number }
  | { event: 'evaluate'; score: number }
  | { event: 'log'; level: string; message: string }
  | { event: 'metric_calls'; count: number }
  | { event: 'finished' };

/** A running Python optimization: an async iterator of progress events, with `result` for the optimized program. */
export class OptimizationRun<P> implements AsyncIterable<OptimizeProgress> {
  /** The optimized program, loaded natively. Rejects with PythonOptimizationError (or the setup's own error). */
  readonly result: Promise<P>;
  private readonly events: OptimizeProgress[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(
    body: (emit: (event: OptimizeProgress) => void) => Promise<P>,
    private readonly onProgress?: (event: OptimizeProgress) => void,
  ) {
    this.result = body((event) => this.emit(event)).then(
      (program) => this.end(undefined, program),
      (error: unknown) => this.end({ error }, undefined),
    );
    // Failures reach callers through `result` (and iterators end); an unobserved run must not crash Node.
    this.result.catch(() => undefined);
  }

  /** Every event so far. */
  get progress(): readonly OptimizeProgress[] {
    return this.events;
  }

  private emit(event: OptimizeProgress): void {
    this.events.push(event);
    this.onProgress?.(event);
    this.wake();
  }

  private end(failure: { error: unknown } | undefined, program: P | undefined): P {
    this.ended = true;
    this.failure = failure;
    this.wake();
    if (failure !== undefined) throw failure.error;
    return program as P;
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter();
    this.waiters.clear();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<OptimizeProgress> {
    let next = 0;
    for (;;) {
      while (next < this.events.length) yield this.events[next++]!;
      if (this.ended) {
        if (this.failure !== undefined) throw this.failure.error;
        return;
      }
      await new Promise<void>((resolve) => this.waiters.add(resolve));
    }
  }
}
