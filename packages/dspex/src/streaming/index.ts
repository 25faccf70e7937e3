// Streaming output fields: `for await (const event of program.stream(inputs))`. Only re-exports.
export type { FieldEvent, StatusEvent, PredictionEvent, StreamEvent, FieldDelta, FieldStreamParser } from './events.js';
export { ChatFieldParser } from './chat_field_parser.js';
export { JSONFieldParser } from './json_field_parser.js';
export { streamEvents, emitStatus, currentStreamSink, type StreamSink, type PredictorNames } from './stream_scope.js';
export { StreamClosedError, StreamIncompleteError } from './errors.js';
