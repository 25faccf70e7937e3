// What `program.stream(inputs)` yields: field deltas while the LM writes, status messages from inside modules
// (DSPy's StatusMessageProvider), and the Prediction last. A discriminated union on `type`.

import type { Fields } from '../primitives/example.js';
import type { Prediction } from '../primitives/prediction.js';

/** Text added to one output field of one predictor (DSPy's StreamResponse). Deltas never hold marker text. */
export interface FieldEvent {
  type: 'field';
  /** The output field being written, e.g. 'answer' (or 'next_thought' inside a ReAct). */
  field: string;
  delta: string;
  /** The predictor's path in the streamed program ('self', 'predict', 'react', 'extract.predict'), when known. */
  predictor?: string;
}

/** A step inside a module: a tool call starting or finished (DSPy's default status messages). */
export interface StatusEvent {
  type: 'status';
  kind: 'tool_start' | 'tool_end';
  /** DSPy's text: "Calling tool search..." / "Tool calling finished! Querying the LLM with tool calling results...". */
  message: string;
  tool?: string;
  /** tool_start: the arguments the tool is called with. */
  args?: Record<string, unknown>;
}

/** The program's result; always the last event of a stream that did not fail. */
export interface PredictionEvent<O extends Fields = Fields> {
  type: 'prediction';
  prediction: Prediction<O>;
}

/** What `module.stream(inputs)` yields: output field text as the LM writes it, status events, and the prediction last. */
export type StreamEvent<O extends Fields = Fields> = FieldEvent | StatusEvent | PredictionEvent<O>;

/** One field's text from a streaming parser (the events carry the predictor besides). */
export interface FieldDelta {
  field: string;
  delta: string;
}

/** An incremental reader of one completion: feed() chunks as they arrive, finish() at the end. */
export interface FieldStreamParser {
  /** The deltas this chunk completes, at most one per field, in the order the fields were written. */
  feed(chunk: string): FieldDelta[];
  /** What was held back (a line that looked like the start of a marker, a split escape). */
  finish(): FieldDelta[];
}
