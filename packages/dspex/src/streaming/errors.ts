// Errors of program.stream(): each has a stable `code` and says what to do next.

import { DSPexError } from '@dspex/runtime';

/** The reason the provider stream is aborted with when the consumer leaves its `for await` early. */
export class StreamClosedError extends DSPexError {
  readonly code = 'DSPEX_STREAM_CLOSED';
  constructor() {
    super('The stream was closed before the program finished, so its LM request was aborted. Iterate to the prediction event to get the result.');
  }
}

/** The LM's stream ended without the final response (an LM implementation that never sends `done`). */
export class StreamIncompleteError extends DSPexError {
  readonly code = 'DSPEX_STREAM_INCOMPLETE';
  constructor(model: string) {
    super(`The LM ${model} ended its stream without a final chunk (done: true with the response). Fix its stream() or remove it so call() is used.`);
  }
}
