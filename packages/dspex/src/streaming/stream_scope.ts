// The scope a streamed call runs in: `program.stream()` runs the program's call() with a StreamSink in an
// AsyncLocalStorage, and whatever runs inside (Predict, ReAct's tools, a Python program) finds it and pushes
// events there. Outside stream() there is no scope and nothing is looked up but one getStore().

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Fields } from '../primitives/example.js';
import type { Prediction } from '../primitives/prediction.js';
import { AsyncQueue } from '../utils/async_queue.js';
import { StreamClosedError } from './errors.js';
import type { FieldDelta, StatusEvent, StreamEvent } from './events.js';

/** What names the predictors in field events: the streamed program (its namedPredictors()). */
export interface PredictorNames {
  namedPredictors(): Array<[string, object]>;
}

/** Where the modules of a streamed call send their events. */
export class StreamSink {
  private names: Map<object, string> | undefined;

  constructor(
    private readonly queue: AsyncQueue<StreamEvent>,
    private readonly root: PredictorNames | undefined,
  ) {}

  /** The predictor's path in the streamed program, or undefined for one outside it. */
  predictorName(predictor: object): string | undefined {
    this.names ??= new Map((this.root?.namedPredictors() ?? []).map(([name, found]) => [found, name]));
    return this.names.get(predictor);
  }

  fields(deltas: readonly FieldDelta[], predictor: string | undefined): void {
    for (const { field, delta } of deltas) this.queue.push(predictor === undefined ? { type: 'field', field, delta } : { type: 'field', field, delta, predictor });
  }

  status(event: Omit<StatusEvent, 'type'>): void {
    this.queue.push({ type: 'status', ...event });
  }
}

const scope = new AsyncLocalStorage<StreamSink>();

/** The sink of the streamed call this code runs in, if any. */
export function currentStreamSink(): StreamSink | undefined {
  return scope.getStore();
}

/** Sends a status event to the streamed call this code runs in (nothing outside one). */
export function emitStatus(event: Omit<StatusEvent, 'type'>): void {
  scope.getStore()?.status(event);
}

/**
 * The events of one run of `run` (started when iteration starts, once per iteration): field and status events
 * as they come, then the prediction. `run` gets a signal that aborts when `signal` does or when the consumer
 * leaves its `for await` early (with StreamClosedError as the reason), so the provider's stream stops.
 */
export function streamEvents<O extends Fields>(root: PredictorNames | undefined, run: (signal: AbortSignal) => Promise<Prediction<O>>, signal?: AbortSignal): AsyncIterable<StreamEvent<O>> {
  return {
    async *[Symbol.asyncIterator]() {
      const queue = new AsyncQueue<StreamEvent>();
      const stop = new AbortController();
      const combined = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
      let finished = false;
      scope.run(new StreamSink(queue, root), () => run(combined)).then(
        (prediction) => {
          queue.push({ type: 'prediction', prediction: prediction as Prediction });
          queue.end();
        },
        (error: unknown) => queue.fail(error),
      );
      try {
        yield* queue as AsyncIterable<StreamEvent<O>>;
        finished = true;
      } finally {
        if (!finished) stop.abort(new StreamClosedError());
      }
    },
  };
}
