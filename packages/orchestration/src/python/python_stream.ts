// A Python program's call inside a streamed call: the bridge's `call_stream` command runs DSPy's streamify
// with a StreamListener on every output field of every predictor, and its chunks (the same event shapes) are
// forwarded to the sink; the command's result is the Prediction's fields, as `call` returns them.

import { isPlainRecord, type StreamSink } from 'dspex';

/** The part of a bridge Session that streams (`session.stream()` gives it). */
export interface StreamingSession {
  stream<T = unknown>(command: string, args?: Record<string, unknown>, options?: { signal?: AbortSignal; timeoutMs?: number }): AsyncIterable<T> & { readonly result: Promise<unknown> };
}

/** Runs `call_stream` for `handle`, forwarding field and status chunks to `sink`; resolves to the wire Prediction. */
export async function streamPythonCall(session: StreamingSession, handle: string, kwargs: Record<string, unknown>, options: { signal?: AbortSignal; timeoutMs?: number }, sink: StreamSink): Promise<unknown> {
  const stream = session.stream<unknown>('call_stream', { handle, kwargs }, options);
  for await (const chunk of stream) {
    if (!isPlainRecord(chunk)) continue;
    if (chunk['type'] === 'field' && typeof chunk['field'] === 'string' && typeof chunk['delta'] === 'string') {
      sink.fields([{ field: chunk['field'], delta: chunk['delta'] }], typeof chunk['predictor'] === 'string' ? chunk['predictor'] : undefined);
    } else if (chunk['type'] === 'status' && typeof chunk['message'] === 'string') {
      const kind = chunk['kind'] === 'tool_end' ? 'tool_end' : 'tool_start';
      sink.status({ kind, message: chunk['message'], ...(typeof chunk['tool'] === 'string' ? { tool: chunk['tool'] } : {}) });
    }
  }
  return stream.result;
}
