// How Predict streams: inside a streamed call it hands its adapter this LM instead of its own. Each request goes
// through the LM's stream() (call() when it has none: a cache hit or a plain LM gives each field whole), and the
// adapter's streaming parser turns the text into field events; the adapter still parses the final response.

import type { LM, LMRequest, LMResponse } from '../primitives/lm.js';
import type { Adapter } from '../adapters/base.js';
import { ChatAdapter } from '../adapters/chat_adapter.js';
import { JSONAdapter } from '../adapters/json_adapter.js';
import type { Signature } from '../signatures/signature.js';
import { ChatFieldParser } from './chat_field_parser.js';
import { StreamIncompleteError } from './errors.js';
import type { FieldStreamParser } from './events.js';
import { JSONFieldParser } from './json_field_parser.js';
import type { StreamSink } from './stream_scope.js';

/**
 * The parser of the adapter's next request. ChatAdapter's second request in one call is its JSONAdapter
 * fallback (DSPy's), read as JSON; an adapter of another kind streams no fields.
 */
function parserFor(adapter: Adapter, outputs: ReadonlySet<string>, request: number): FieldStreamParser | undefined {
  if (adapter instanceof JSONAdapter || (adapter instanceof ChatAdapter && request > 0)) return new JSONFieldParser(outputs);
  if (adapter instanceof ChatAdapter) return new ChatFieldParser(outputs);
  return undefined;
}

/** `lm` for one Predict call inside a streamed call: same model and settings, its text streamed to `sink`. */
export function streamingLm(sink: StreamSink, predictor: object, lm: LM, adapter: Adapter, signature: Signature): LM {
  const outputs = new Set(signature.outputFields.map((field) => field.name));
  const name = sink.predictorName(predictor);
  let requests = 0;
  return {
    model: lm.model,
    defaults: lm.defaults,
    ...(lm.structuredOutputs === undefined ? {} : { structuredOutputs: lm.structuredOutputs }),
    call: (request: LMRequest) => {
      const parser = parserFor(adapter, outputs, requests++);
      return streamedCall(lm, request, parser, (deltas) => sink.fields(deltas, name));
    },
  };
}

async function streamedCall(lm: LM, request: LMRequest, parser: FieldStreamParser | undefined, emit: (deltas: ReturnType<FieldStreamParser['feed']>) => void): Promise<LMResponse> {
  if (lm.stream === undefined) {
    const response = await lm.call(request);
    const text = response.outputs[0]?.text;
    if (parser !== undefined && text) {
      emit(parser.feed(text));
      emit(parser.finish());
    }
    return response;
  }
  let response: LMResponse | undefined;
  for await (const chunk of lm.stream(request)) {
    if (chunk.done && chunk.response !== undefined) response = chunk.response;
    // Only the first output streams (n > 1 gives its other completions in the prediction).
    if (chunk.index === 0 && chunk.delta !== '' && parser !== undefined) emit(parser.feed(chunk.delta));
  }
  if (parser !== undefined) emit(parser.finish());
  if (response === undefined) throw new StreamIncompleteError(lm.model);
  return response;
}
